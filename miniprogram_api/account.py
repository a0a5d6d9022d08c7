"""The caller's own account: subscribe results, data export, account deletion (API.md, session table)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.db import unit_of_work
from backend.members.privacy import delete_account, export_personal_data
from backend.notifications.operations import record_subscriptions
from miniprogram_api.common import current_account, member_endpoint

blp = Blueprint("account", __name__, url_prefix="/api/v1", description="订阅消息与个人数据")


class SubscriptionsSchema(ma.Schema):
    results = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(min=1, max=64)),
        values=ma.fields.String(validate=ma.validate.OneOf(["accept", "reject", "ban", "filter"])),
        required=True,
        validate=ma.validate.Length(min=1, max=20),
        metadata={
            "description": "wx.requestSubscribeMessage 的返回：模板 id → accept / reject / ban / filter"
        },
    )


class CreditsSchema(ma.Schema):
    credits = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={"description": "通知类型 → 剩余可推送次数"},
    )


class ExportSchema(ma.Schema):
    account = ma.fields.Dict()
    sessions = ma.fields.List(ma.fields.Dict())
    member = ma.fields.Dict(allow_none=True, metadata={"description": "名册信息，含完整手机号"})
    group_history = ma.fields.List(ma.fields.Dict())
    join_requests = ma.fields.List(ma.fields.Dict())
    notifications = ma.fields.List(ma.fields.Dict())
    subscription_credits = ma.fields.List(ma.fields.Dict())
    subscription_grants = ma.fields.List(ma.fields.Dict(), metadata={"description": "每次同意订阅的记录"})
    uploads = ma.fields.List(ma.fields.Dict(), metadata={"description": "上传过的文件（不含文件内容）"})
    activity_log = ma.fields.List(ma.fields.Dict())
    activity_registrations = ma.fields.List(ma.fields.Dict(), metadata={"description": "活动报名记录"})
    hardship_applications = ma.fields.List(
        ma.fields.Dict(), metadata={"description": "困难帮扶申请（含办理进度）"}
    )
    hardship_file = ma.fields.Dict(allow_none=True, metadata={"description": "困难职工档案"})
    care = ma.fields.Dict(metadata={"description": "关怀申请与慰问记录"})

    class Meta:
        unknown = ma.INCLUDE


@blp.route("/me/subscriptions")
@member_endpoint(blp)
class Subscriptions(MethodView):
    @blp.arguments(SubscriptionsSchema)
    @blp.response(200, CreditsSchema)
    @blp.alt_response(422, description="validation_error：未知的模板 id 或结果")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """上报订阅结果：每个 accept 记一次可推送次数"""
        with unit_of_work():
            credits = record_subscriptions(current_account(), body["results"])
        return {"credits": credits}


@blp.route("/me/export")
@member_endpoint(blp)
class Export(MethodView):
    @blp.response(200, ExportSchema)
    def get(self) -> dict[str, Any]:
        """导出我的全部个人数据（JSON）"""
        with unit_of_work():
            data = export_personal_data(current_account())
        return data


@blp.route("/me")
@member_endpoint(blp)
class DeleteMe(MethodView):
    @blp.response(204)
    def delete(self) -> None:
        """注销账号：解除微信绑定、撤销登录、删除个人数据（工会名册按规定保留）"""
        with unit_of_work():
            delete_account(current_account(), reason="member_request")
