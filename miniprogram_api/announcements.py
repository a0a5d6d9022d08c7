"""Announcements for workers (API.md: Announcements).

Who sees what: an active member sees announcements to the whole union and to their group or any group
above it (an announcement to a branch reaches every group below it), plus any they were sent while in
another group. Announcements are for active members of the audience: an unbound account, a pending
member and one who left get an empty list and 404 for every id, whole-union announcements included.
Anything else is 404, exactly like a missing id; a withdrawn one that the caller could have read is 410.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.announcements.models import Announcement, AnnouncementCategory
from backend.announcements.queries import announcement_for_member, is_read, member_announcements
from backend.announcements.reading import record_read
from backend.db import to_local, unit_of_work
from backend.members.models import MemberStatus
from backend.uploads.models import ACCEPTED_TYPES, Upload
from miniprogram_api.common import (
    BEARER,
    PageQuery,
    current_account,
    login_required,
    page_schema,
    paginate,
)

blp = Blueprint("announcements", __name__, url_prefix="/api/v1", description="公告通知")

CATEGORIES = [c.value for c in AnnouncementCategory]


class AnnouncementQuery(PageQuery):
    category = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(CATEGORIES),
        metadata={"description": "notice 通知 / publicity 公示 / factory_affairs 厂务公开；不传则全部"},
    )


class AnnouncementSummarySchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    summary = ma.fields.String(metadata={"description": "正文开头的纯文字"})
    category = ma.fields.String(metadata={"enum": CATEGORIES})
    pinned = ma.fields.Boolean()
    published_at = ma.fields.DateTime()
    read = ma.fields.Boolean(metadata={"description": "本人是否已读（未认证会员始终为 false）"})


class AttachmentSchema(ma.Schema):
    id = ma.fields.Integer()
    filename = ma.fields.String()
    url = ma.fields.String(metadata={"description": "下载地址（GET，需带登录令牌），如 /api/v1/uploads/12"})
    content_type = ma.fields.String(metadata={"enum": list(ACCEPTED_TYPES)})
    size = ma.fields.Integer(metadata={"description": "字节数"})


class AnnouncementSchema(AnnouncementSummarySchema):
    body_html = ma.fields.String(metadata={"description": "已净化的富文本，可直接交给 rich-text 组件"})
    attachments = ma.fields.List(ma.fields.Nested(AttachmentSchema))


AnnouncementPageSchema = page_schema(AnnouncementSummarySchema, "AnnouncementPage")


def summary_payload(announcement: Announcement, *, read: bool) -> dict[str, Any]:
    return {
        "id": announcement.id,
        "title": announcement.title,
        "summary": announcement.summary,
        "category": announcement.category.value,
        "pinned": announcement.pinned,
        "published_at": to_local(announcement.published_at),
        "read": read,
    }


def _listed(announcement: Announcement, read_at: datetime | None) -> dict[str, Any]:
    return summary_payload(announcement, read=read_at is not None)


def attachment_payload(upload: Upload) -> dict[str, Any]:
    return {
        "id": upload.id,
        "filename": upload.filename,
        "url": url_for("uploads.UploadFile", upload_id=upload.id),
        "content_type": upload.content_type,
        "size": upload.size,
    }


@blp.route("/announcements")
class Announcements(MethodView):
    decorators = [login_required]

    @blp.doc(security=BEARER)
    @blp.arguments(AnnouncementQuery, location="query")
    @blp.response(200, AnnouncementPageSchema)
    @blp.alt_response(401, description="unauthorized")
    @blp.alt_response(422, description="validation_error：分类或分页参数有误")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """公告列表：置顶在前，其余按发布时间从新到旧"""
        category = AnnouncementCategory(args["category"]) if args["category"] else None
        query = member_announcements(current_account().member, category=category)
        return paginate(query, args, item=_listed)


@blp.route("/announcements/<int:announcement_id>")
class AnnouncementDetail(MethodView):
    decorators = [login_required]

    @blp.doc(security=BEARER)
    @blp.response(200, AnnouncementSchema)
    @blp.alt_response(401, description="unauthorized")
    @blp.alt_response(404, description="not_found：不存在，或不面向本人")
    @blp.alt_response(410, description="announcement_withdrawn：公告已撤回（消息中心的旧链接）")
    def get(self, announcement_id: int) -> dict[str, Any]:
        """公告全文；会员第一次打开时记为已读"""
        member = current_account().member
        with unit_of_work():
            announcement = announcement_for_member(announcement_id, member)
            if member is not None and member.status == MemberStatus.active:
                record_read(announcement, member=member)
            payload = summary_payload(announcement, read=is_read(announcement, member))
            payload.update(
                body_html=announcement.body_html,
                attachments=[attachment_payload(upload) for upload in announcement.attachments],
            )
        return payload
