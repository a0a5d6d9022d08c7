"""Domain errors: each has a stable machine code, an HTTP status and a message a worker can read.

Operations raise these; the doors turn them into API.md's JSON error shape or an admin page.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ConfigurationError(RuntimeError):
    """The settings are unusable; raised at start-up, never during a request."""


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    message: ClassVar[str] = "请求有误"

    def __init__(
        self, message: str | None = None, *, errors: dict[str, list[str]] | None = None, **details: Any
    ) -> None:
        self.message = message or type(self).message
        self.errors = errors
        self.details = details
        super().__init__(self.message)


class ValidationFailed(DomainError):
    status = 422
    code = "validation_error"
    message = "提交的内容有误，请检查后重试"


class NotFound(DomainError):
    """Also used for objects that exist but are not the caller's (API.md: answered alike)."""

    status = 404
    code = "not_found"
    message = "内容不存在或已被删除"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    message = "您没有权限进行此操作"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "操作与当前状态冲突，请刷新后重试"


class InvalidState(Conflict):
    code = "invalid_state"
    message = "当前状态下不能进行此操作"


# --- login and binding -------------------------------------------------------------------------


class InvalidLoginCode(DomainError):
    status = 400
    code = "invalid_code"
    message = "登录凭证无效或已过期，请重新进入小程序"


class InvalidPhoneCode(DomainError):
    status = 400
    code = "invalid_phone_code"
    message = "手机号授权已失效，请重新授权"


class WechatRiskyUser(DomainError):
    status = 403
    code = "wechat_risky_user"
    message = "微信提示您的账号存在风险，暂时无法登录"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    message = "操作太频繁，请稍后再试"


class WechatUnavailableError(DomainError):
    status = 503
    code = "wechat_unavailable"
    message = "微信服务暂时不可用，请稍后再试"


class MemberNotActive(DomainError):
    status = 403
    code = "member_not_active"
    message = "请先完成会员认证（绑定工号并通过审核）"


class EmployeeAlreadyBound(Conflict):
    code = "employee_already_bound"
    message = "该工号已被其他微信账号绑定，如有疑问请联系工会"


class BindingMismatch(Conflict):
    code = "binding_mismatch"
    message = "姓名、工号或手机号与工会名册不一致，请核对后重试或联系工会"


class PhoneRequired(DomainError):
    """A name and an employee number are known to colleagues: the phone WeChat verified is the proof."""

    status = 422
    code = "phone_required"
    message = "请授权微信手机号以确认是您本人"


class BindingLocked(RateLimited):
    """Too many failed attempts against one 工号 today: name + 工号 alone no longer binds it."""

    message = "该工号今天认证失败次数过多，已暂停仅凭姓名和工号认证，请联系工会工作人员核实"


class AlreadyBound(Conflict):
    code = "already_bound"
    message = "您的微信已绑定会员身份，无需重复绑定"


class JoinRequestPending(Conflict):
    code = "join_request_pending"
    message = "您的入会申请正在审核中，请耐心等待"


# --- roster and staff --------------------------------------------------------------------------


class DuplicateEmployeeNo(Conflict):
    code = "duplicate_employee_no"
    message = "工号已存在"


class GroupNotEmpty(Conflict):
    code = "group_not_empty"
    message = "该组织下还有下级组织或会员，不能删除"


class DuplicateUsername(Conflict):
    code = "duplicate_username"
    message = "登录名已被使用"
