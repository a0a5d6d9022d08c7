"""The activities' error codes (API.md "Activities")."""

from __future__ import annotations

from backend.errors import Conflict, DomainError, PermissionDenied


class NotInAudience(PermissionDenied):
    code = "not_in_audience"
    message = "该活动不面向您所在的组织"


class RegistrationNotOpen(Conflict):
    code = "registration_not_open"
    message = "报名尚未开始"


class RegistrationClosed(Conflict):
    code = "registration_closed"
    message = "报名已截止"


class ActivityFull(Conflict):
    code = "activity_full"
    message = "活动名额已满"


class ActivityCancelled(Conflict):
    code = "activity_cancelled"
    message = "活动已取消"


class CancelDeadlinePassed(Conflict):
    code = "cancel_deadline_passed"
    message = "已过取消报名的截止时间，如有特殊情况请联系工会"


class InvalidCheckinToken(DomainError):
    status = 400
    code = "invalid_checkin_token"
    message = "签到码无效，请扫描本活动现场的签到码"


class NotRegistered(PermissionDenied):
    code = "not_registered"
    message = "您没有报名该活动，不能签到"


class CheckinNotOpen(Conflict):
    code = "checkin_not_open"
    message = "当前不在签到时间内"
