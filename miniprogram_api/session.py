"""Login, logout, the caller's own record, and binding to the roster (API.md: Configuration and session)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.db import unit_of_work
from backend.errors import BindingMismatch
from backend.extensions import limiter
from backend.members import auth
from backend.members.binding import account_status, bind, count_failed_attempt
from backend.members.models import Member, WechatAccount
from backend.notifications.queries import credits_for, unread_count
from miniprogram_api.common import DbId, bearer_token, current_account, member_endpoint, member_rate_limit_key
from miniprogram_api.schemas import LocalDateTime, MeSchema

blp = Blueprint("session", __name__, url_prefix="/api/v1", description="登录与会员身份")


class LoginSchema(ma.Schema):
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=128),
        metadata={"description": "wx.login() 返回的 code"},
    )


class LoginResultSchema(ma.Schema):
    token = ma.fields.String()
    expires_at = LocalDateTime()
    member = ma.fields.Nested(MeSchema)


class BindingSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=50))
    employee_no = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32))
    phone_code = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=128),
        metadata={
            "description": "getPhoneNumber 返回的 code：名册中该工号留有手机号时必填"
            "（微信验证的手机号须与名册一致）"
        },
    )
    group_id = DbId(
        load_default=None,
        allow_none=True,
        metadata={"description": "名册中查不到时，入会申请所选的组织（可选）"},
    )


@dataclass(frozen=True)
class MeAnswer:
    """The caller as API.md's `Me` shows them, dumped by MeSchema: the account and its member record,
    with what they cannot say about themselves read once, in the request's transaction."""

    account: WechatAccount
    status: str
    unread_messages: int
    credits: dict[str, int]
    # A free-form object in the OpenAPI document (a nested schema would change the document).
    join_request: dict[str, str | None] | None

    @property
    def member(self) -> Member | None:
        return self.account.member

    @classmethod
    def of(cls, account: WechatAccount) -> MeAnswer:
        member = account.member
        latest = account.join_requests[0] if account.join_requests else None
        return cls(
            account=account,
            status=account_status(account),
            unread_messages=unread_count(account),
            credits=credits_for(account),
            join_request=(
                {"status": latest.status.value, "comment": latest.decision_comment}
                if latest and not member
                else None
            ),
        )


@dataclass(frozen=True)
class LoginResult:
    token: str
    expires_at: datetime
    member: MeAnswer


@blp.route("/auth/login")
class Login(MethodView):
    # Per address, and generous: a plant's workers share one public address (factory Wi-Fi, carrier NAT)
    # and log in together at shift change. A code is single-use and checked by WeChat, whose own limit
    # (45011) is answered as 429 too.
    decorators = [limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])]

    @blp.arguments(LoginSchema)
    @blp.response(200, LoginResultSchema)
    @blp.alt_response(400, description="invalid_code：登录凭证无效、已使用或已过期")
    @blp.alt_response(403, description="wechat_risky_user")
    @blp.alt_response(
        429, description="rate_limited：同一网络地址登录过于频繁（LOGIN_RATE_LIMIT），或微信限流（45011）"
    )
    @blp.alt_response(503, description="wechat_unavailable")
    def post(self, body: dict[str, Any]) -> LoginResult:
        """用 wx.login 的 code 登录，得到访问令牌"""
        ttl = timedelta(hours=current_app.config["API_TOKEN_TTL_HOURS"])
        with unit_of_work():
            issued = auth.login(body["code"], ttl=ttl)
            return LoginResult(issued.token, issued.expires_at, MeAnswer.of(issued.account))


@blp.route("/auth/logout")
@member_endpoint(blp)
class Logout(MethodView):
    @blp.response(204)
    def post(self) -> None:
        """退出登录：当前令牌立即失效"""
        with unit_of_work():
            auth.logout(bearer_token() or "")


@blp.route("/me")
@member_endpoint(blp)
class Me(MethodView):
    @blp.response(200, MeSchema)
    def get(self) -> MeAnswer:
        """当前用户：会员身份、所属组织、未读消息"""
        return MeAnswer.of(current_account())


@blp.route("/me/binding")
@member_endpoint(blp)
class Binding(MethodView):
    # Per WeChat account: logging in again for a fresh token does not start a fresh count.
    decorators = [
        limiter.limit(lambda: current_app.config["BINDING_RATE_LIMIT"], key_func=member_rate_limit_key)
    ]

    @blp.arguments(BindingSchema)
    @blp.response(200, MeSchema)
    @blp.alt_response(
        409,
        description="employee_already_bound：该会员已绑定其他微信"
        " / binding_mismatch：姓名或手机号与名册不一致 / already_bound：本微信已绑定"
        " / join_request_pending：入会申请已在审核中",
    )
    @blp.alt_response(
        422,
        description="phone_required：名册中该工号留有手机号，须带 phone_code（姓名和工号同事都知道，"
        "微信验证的手机号才能证明是本人）/ validation_error",
    )
    @blp.alt_response(
        429, description="rate_limited：认证过于频繁（按微信账号计），或该工号今天认证失败次数过多"
    )
    @blp.alt_response(503, description="wechat_unavailable")
    def post(self, body: dict[str, Any]) -> MeAnswer:
        """用姓名 + 工号 + 微信手机号认证会员身份；名册中没有时提交入会申请"""
        account = current_account()
        try:
            with unit_of_work():
                return MeAnswer.of(bind(account, **body))
        except BindingMismatch as refusal:
            # The refusal rolled the attempt back; its count against the 工号 is written on its own.
            with unit_of_work():
                count_failed_attempt(account, refusal)
            raise
