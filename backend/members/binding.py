"""Binding a WeChat account to a member of the roster, or filing a join request (入会申请)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.audit.operations import record
from backend.db import utcnow
from backend.errors import (
    AlreadyBound,
    BindingMismatch,
    EmployeeAlreadyBound,
    InvalidPhoneCode,
    ValidationFailed,
    WechatUnavailableError,
)
from backend.extensions import db
from backend.members.models import (
    Group,
    JoinRequest,
    JoinRequestStatus,
    Member,
    MemberStatus,
    WechatAccount,
    normalize_employee_no,
    normalize_name,
)
from backend.members.operations import set_phone
from backend.wechat.gateway import WechatError, WechatUnavailable, gateway

log = logging.getLogger(__name__)


def account_status(account: WechatAccount) -> str:
    """The `status` of API.md's `Me`: unbound, pending, active, rejected or left."""
    if account.member is not None:
        return {MemberStatus.active: "active", MemberStatus.left: "left"}.get(
            account.member.status, "pending"
        )
    latest = account.join_requests[0] if account.join_requests else None
    if latest is not None and latest.status == JoinRequestStatus.pending:
        return "pending"
    if latest is not None and latest.status == JoinRequestStatus.rejected:
        return "rejected"
    return "unbound"


def phone_from_code(phone_code: str) -> str:
    try:
        return gateway.get_phone_number(phone_code)
    except WechatUnavailable as exc:
        raise WechatUnavailableError() from exc
    except WechatError as exc:
        log.info("phone code refused with errcode %s", exc.errcode)
        raise InvalidPhoneCode() from exc


def bind(
    account: WechatAccount,
    *,
    name: str,
    employee_no: str,
    phone_code: str | None = None,
    group_id: int | None = None,
) -> WechatAccount:
    """Bind to the roster member with this name and employee number, or file a join request.

    A roster match must agree on name (and on phone, when both a phone code is given and the roster
    has a phone); a mismatch is refused rather than filed, so nobody can queue a request in the name
    of someone already on the roster.
    """
    name = normalize_name(name)
    employee_no = normalize_employee_no(employee_no)
    if not name or not employee_no:
        raise ValidationFailed(errors={"name": ["请填写姓名和工号"]})

    member = db.session.scalar(sa.select(Member).where(Member.employee_no == employee_no))
    if account.member is not None:
        if member is not None and account.member.id == member.id:
            return account
        raise AlreadyBound()

    phone = phone_from_code(phone_code) if phone_code else None

    if member is None:
        return _file_join_request(account, name=name, employee_no=employee_no, phone=phone, group_id=group_id)

    if normalize_name(member.name) != name or (phone and member.phone and member.phone != phone):
        raise BindingMismatch()
    if member.wechat_account is not None:
        raise EmployeeAlreadyBound()

    try:
        with db.session.begin_nested():
            account.member = member
            account.bound_at = utcnow()
            if phone and not member.phone:
                set_phone(member, phone)
            for request in account.join_requests:
                if request.status == JoinRequestStatus.pending:
                    request.status = JoinRequestStatus.cancelled
                    request.decided_at = utcnow()
            db.session.flush()
    except IntegrityError as exc:
        # Another account bound this member between our read and our write.
        db.session.refresh(account)
        raise EmployeeAlreadyBound() from exc
    record("member.bind", member_id=member.id, target=member, openid_account=account.id)
    return account


def _file_join_request(
    account: WechatAccount, *, name: str, employee_no: str, phone: str | None, group_id: int | None
) -> WechatAccount:
    group = None
    if group_id is not None:
        group = db.session.get(Group, group_id)
        if group is None:
            raise ValidationFailed(errors={"group_id": ["所选组织不存在"]})
    pending = next((r for r in account.join_requests if r.status == JoinRequestStatus.pending), None)
    if pending is None:
        pending = JoinRequest(wechat_account=account, name=name, employee_no=employee_no)
        db.session.add(pending)
        account.join_requests.insert(0, pending)
    # Resubmitting while pending corrects the request instead of queueing a second one.
    pending.name = name
    pending.employee_no = employee_no
    pending.phone = phone or pending.phone
    pending.group = group or pending.group
    db.session.flush()
    return account
