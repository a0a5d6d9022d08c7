"""Announcements for workers (API.md: Announcements).

Who sees what: an active member sees announcements to the whole union and to their group or any group
above it (an announcement to a branch reaches every group below it), plus any they were sent while in
another group. Announcements are for active members of the audience: an unbound account, a pending
member and one who left get an empty list and 404 for every id, whole-union announcements included.
Anything else is 404, exactly like a missing id; a withdrawn one that the caller could have read is 410.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.announcements.models import Announcement, AnnouncementCategory
from backend.announcements.queries import announcement_for_member, is_read, member_announcements
from backend.announcements.reading import record_read
from backend.db import unit_of_work
from backend.members.models import MemberStatus
from backend.uploads.models import ACCEPTED_TYPES, Upload
from miniprogram_api.common import PageQuery, current_account, member_endpoint, page_schema, paginate
from miniprogram_api.schemas import DerivedString, LocalDateTime

blp = Blueprint("announcements", __name__, url_prefix="/api/v1", description="公告通知")

CATEGORIES = [c.value for c in AnnouncementCategory]


class AnnouncementQuery(PageQuery):
    category = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(CATEGORIES),
        metadata={"description": "notice 通知 / publicity 公示 / factory_affairs 厂务公开；不传则全部"},
    )


@dataclass(frozen=True)
class CallersAnnouncement:
    """An announcement with whether the caller has read it: the one fact the row cannot say itself."""

    announcement: Announcement
    read: bool

    @classmethod
    def listed(cls, announcement: Announcement, read_at: datetime | None) -> CallersAnnouncement:
        """From a row of `member_announcements`: the announcement and the caller's read time."""
        return cls(announcement, read=read_at is not None)


class AnnouncementSummarySchema(ma.Schema):
    """Dumps a CallersAnnouncement."""

    id = ma.fields.Integer(attribute="announcement.id")
    title = ma.fields.String(attribute="announcement.title")
    summary = ma.fields.String(attribute="announcement.summary", metadata={"description": "正文开头的纯文字"})
    category = ma.fields.String(attribute="announcement.category.value", metadata={"enum": CATEGORIES})
    pinned = ma.fields.Boolean(attribute="announcement.pinned")
    published_at = LocalDateTime(attribute="announcement.published_at")
    read = ma.fields.Boolean(metadata={"description": "本人是否已读（未认证会员始终为 false）"})


def download_url(upload: Upload) -> str:
    return url_for("uploads.UploadFile", upload_id=upload.id)


class AttachmentSchema(ma.Schema):
    id = ma.fields.Integer()
    filename = ma.fields.String()
    url = DerivedString(
        download_url, metadata={"description": "下载地址（GET，需带登录令牌），如 /api/v1/uploads/12"}
    )
    content_type = ma.fields.String(metadata={"enum": list(ACCEPTED_TYPES)})
    size = ma.fields.Integer(metadata={"description": "字节数"})


class AnnouncementSchema(AnnouncementSummarySchema):
    body_html = ma.fields.String(
        attribute="announcement.body_html",
        metadata={"description": "已净化的富文本，可直接交给 rich-text 组件"},
    )
    attachments = ma.fields.List(ma.fields.Nested(AttachmentSchema), attribute="announcement.attachments")


AnnouncementPageSchema = page_schema(AnnouncementSummarySchema, "AnnouncementPage")


@blp.route("/announcements")
@member_endpoint(blp)
class Announcements(MethodView):
    @blp.arguments(AnnouncementQuery, location="query")
    @blp.response(200, AnnouncementPageSchema)
    @blp.alt_response(422, description="validation_error：分类或分页参数有误")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """公告列表：置顶在前，其余按发布时间从新到旧"""
        category = AnnouncementCategory(args["category"]) if args["category"] else None
        query = member_announcements(current_account().member, category=category)
        return paginate(query, args, item=CallersAnnouncement.listed)


@blp.route("/announcements/<int:announcement_id>")
@member_endpoint(blp)
class AnnouncementDetail(MethodView):
    @blp.response(200, AnnouncementSchema)
    @blp.alt_response(404, description="not_found：不存在，或不面向本人")
    @blp.alt_response(410, description="announcement_withdrawn：公告已撤回（消息中心的旧链接）")
    def get(self, announcement_id: int) -> CallersAnnouncement:
        """公告全文；会员第一次打开时记为已读"""
        member = current_account().member
        with unit_of_work():
            announcement = announcement_for_member(announcement_id, member)
            if member is not None and member.status == MemberStatus.active:
                record_read(announcement, member=member)
            return CallersAnnouncement(announcement, read=is_read(announcement, member))
