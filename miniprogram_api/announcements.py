"""Announcements for workers (API.md: Announcements).

Who sees what: an active member sees announcements to the whole union and to their group or any group
above it (an announcement to a branch reaches every group below it), plus any they were sent while in
another group. Unbound, pending and left accounts see only whole-union announcements. Anything else
is 404, exactly like a missing id; a withdrawn one that the caller could have read is 410.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.announcements.models import Announcement, AnnouncementCategory
from backend.announcements.operations import record_read
from backend.announcements.queries import announcement_for_member, is_read, member_announcements
from backend.db import to_local, unit_of_work
from backend.extensions import db
from backend.members.models import MemberStatus
from miniprogram_api.common import BEARER, PageQuery, current_account, login_required, page_schema

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
    url = ma.fields.String()


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
        page, page_size = args["page"], args["page_size"]
        category = AnnouncementCategory(args["category"]) if args["category"] else None
        query = member_announcements(current_account().member, category=category)
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
        rows = db.session.execute(query.limit(page_size).offset((page - 1) * page_size)).all()
        return {
            "items": [summary_payload(item, read=read_at is not None) for item, read_at in rows],
            "page": page,
            "page_size": page_size,
            "total": total or 0,
        }


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
            # Attachments arrive with the uploads domain; the field is in the contract already.
            payload.update(body_html=announcement.body_html, attachments=[])
        return payload
