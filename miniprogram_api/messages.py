"""The member's inbox (API.md: GET /me/messages, POST /me/messages/{id}/read, POST /me/messages/read-all)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.db import unit_of_work
from backend.notifications.inbox import mark_all_read, mark_read, own_notification
from backend.notifications.models import WITHDRAWN_BODY
from backend.notifications.queries import inbox
from miniprogram_api.common import PageQuery, current_account, member_endpoint, page_schema, paginate
from miniprogram_api.schemas import LocalDateTime

blp = Blueprint("messages", __name__, url_prefix="/api/v1", description="消息中心")


class MessageSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.Function(
        lambda n: n.kind.value,
        metadata={"enum": ["announcement", "activity", "application", "care", "system"]},
    )
    title = ma.fields.String()
    body = ma.fields.String(
        attribute="shown_body",
        metadata={"description": f"消息正文；撤回的公告的消息不再显示原文，固定为「{WITHDRAWN_BODY}」"},
    )
    withdrawn = ma.fields.Boolean(
        metadata={"description": "消息所说的公告已撤回（此时 body 为固定文字，link 打开时答 410）"}
    )
    link = ma.fields.String(allow_none=True, metadata={"description": "小程序页面路径，可带参数"})
    created_at = LocalDateTime()
    read_at = LocalDateTime(allow_none=True)


MessagePageSchema = page_schema(MessageSchema, "MessagePage")


@blp.route("/me/messages")
@member_endpoint(blp)
class Messages(MethodView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, MessagePageSchema)
    @blp.alt_response(422, description="validation_error")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """我的消息，最新的在前（认证之前也有：例如入会申请的审核结果）"""
        return paginate(inbox(current_account()), query)


@blp.route("/me/messages/<int:message_id>/read")
@member_endpoint(blp)
class ReadMessage(MethodView):
    @blp.response(204)
    @blp.alt_response(404, description="not_found：消息不存在或不属于当前用户")
    def post(self, message_id: int) -> None:
        """标记一条消息为已读"""
        account = current_account()
        with unit_of_work():
            mark_read(own_notification(message_id, account=account), account=account)


@blp.route("/me/messages/read-all")
@member_endpoint(blp)
class ReadAllMessages(MethodView):
    @blp.response(204)
    def post(self) -> None:
        """全部标记为已读"""
        with unit_of_work():
            mark_all_read(current_account())
