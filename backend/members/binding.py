"""Binding a WeChat account to a member of the roster, or filing a join request (入会申请)."""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from backend.audit.operations import record
from backend.db import utcnow
from backend.errors import (
    AlreadyBound,
    BindingLocked,
    BindingMismatch,
    EmployeeAlreadyBound,
    InvalidPhoneCode,
    JoinRequestPending,
    PhoneRequired,
    ValidationFailed,
    WechatUnavailableError,
)
from backend.extensions import db
from backend.members.models import (
    BindingFailure,
    BindingProof,
    Group,
    JoinRequest,
    JoinRequestStatus,
    Member,
    MemberStatus,
    WechatAccount,
    normalize_employee_no,
    normalize_name,
)
from backend.members.operations import link_account, set_phone
from backend.members.queries import start_of_today
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


def same_phone(verified: str, roster: str) -> bool:
    """WeChat's number (no country code) against the roster's, however the roster wrote it."""

    def digits(phone: str) -> str:
        number = re.sub(r"\D", "", phone)
        return number[2:] if len(number) == 13 and number.startswith("86") else number

    return bool(digits(verified)) and digits(verified) == digits(roster)


def failures_today(member: Member) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(BindingFailure)
            .where(BindingFailure.member_id == member.id, BindingFailure.created_at >= start_of_today())
        )
        or 0
    )


def bind(
    account: WechatAccount,
    *,
    name: str,
    employee_no: str,
    phone_code: str | None = None,
    group_id: int | None = None,
) -> WechatAccount:
    """Bind to the roster member with this name and employee number, or file a join request.

    Colleagues know a member's name and 工号, so neither proves who is asking. When the roster row has
    a phone, the phone WeChat verified for this account must equal it (422 without a phone code, 409
    for another number). A row without a phone binds by name + 工号 (or, with BINDING_REQUIRE_PHONE, by
    name + 工号 + any verified phone, which the row then keeps), and the binding waits for a staff
    member to confirm it. A wrong name or phone is refused, never filed as a join request in the name of
    someone on the roster, and counts against the 工号 (see `count_failed_attempt`); once a 工号 has
    BINDING_FAILURE_LIMIT failures today, only its matching verified phone binds it.
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

    require_phone = bool(current_app.config["BINDING_REQUIRE_PHONE"])
    # Asked before the name is compared, so that without a verified phone nobody learns whether a
    # name they try belongs to the 工号.
    if not phone_code and (require_phone or (member is not None and member.phone)):
        raise PhoneRequired()
    phone = phone_from_code(phone_code) if phone_code else None

    if member is None:
        return _file_join_request(account, name=name, employee_no=employee_no, phone=phone, group_id=group_id)

    proved = bool(phone and member.phone and same_phone(phone, member.phone))
    if not member.phone and failures_today(member) >= current_app.config["BINDING_FAILURE_LIMIT"]:
        raise BindingLocked()
    if normalize_name(member.name) != name:
        raise BindingMismatch(member_id=member.id, reason="name")
    if member.phone and not proved:
        raise BindingMismatch(member_id=member.id, reason="phone")
    if member.wechat_account is not None:
        raise EmployeeAlreadyBound()

    try:
        with db.session.begin_nested():
            linked = link_account(account, member, proof=BindingProof.phone if proved else None)
    except IntegrityError as exc:
        # Another account bound this member between our read and our write.
        db.session.expire(account)
        raise EmployeeAlreadyBound() from exc
    if not linked:
        # A request of this same account, sent at the same moment, bound it first.
        raise AlreadyBound()
    if phone and not member.phone:
        set_phone(member, phone)
    for request in account.join_requests:
        if request.status == JoinRequestStatus.pending:
            request.status = JoinRequestStatus.cancelled
            request.decided_at = utcnow()
    db.session.flush()
    record(
        "member.bind",
        member_id=member.id,
        target=member,
        openid_account=account.id,
        proof="phone" if proved else "awaiting_staff",
    )
    return account


def count_failed_attempt(account: WechatAccount, refusal: BindingMismatch) -> BindingFailure | None:
    """Counts a refused binding against the 工号 it named. The refusal rolled its request back, so the
    door calls this afterwards, in a transaction of its own: otherwise no failure would ever count."""
    member_id = refusal.details.get("member_id")
    if member_id is None:
        return None
    failure = BindingFailure(
        member_id=member_id, wechat_account_id=account.id, reason=str(refusal.details.get("reason", ""))
    )
    db.session.add(failure)
    db.session.flush()
    return failure


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
        try:
            with db.session.begin_nested():
                pending = JoinRequest(wechat_account=account, name=name, employee_no=employee_no)
                db.session.add(pending)
                db.session.flush()
        except IntegrityError as exc:
            # One open request per account (a unique index): a request of this same account, sent at
            # the same moment, filed it first.
            db.session.expire(account)
            raise JoinRequestPending() from exc
        account.join_requests.insert(0, pending)
    # Resubmitting while pending corrects the request instead of queueing a second one.
    pending.name = name
    pending.employee_no = employee_no
    pending.phone = phone or pending.phone
    pending.group = group or pending.group
    db.session.flush()
    return account
