"""What every step shares: the row lock, the timeline row, and the applicant's message in plain Chinese."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backend.announcements.models import Announcement, AnnouncementStatus
from backend.announcements.operations import withdraw
from backend.db import utcnow
from backend.errors import DomainError, InvalidState, NotFound, PermissionDenied
from backend.extensions import db
from backend.hardship.models import HardshipApplication, HardshipEvent, Status
from backend.hardship.workflow import ACTOR_PERMISSIONS, DECISIONS, TRANSITIONS, Action, Actor, allowed
from backend.notifications.operations import notify
from backend.staff.models import Staff
from backend.staff.permissions import Permission

log = logging.getLogger(__name__)

MEMBER_LINK = "/pages/hardship/detail?id={id}"


class OpenApplicationExists(InvalidState):
    code = "open_application_exists"
    message = "您已有一份正在办理的困难帮扶申请，请等它办结或撤回后再申请"


class OwnApplication(PermissionDenied):
    code = "own_application"
    message = "不能审批本人的申请"


class SameApprover(PermissionDenied):
    code = "separation_of_duties"
    message = "初审通过的工作人员不能再做终审，请由另一位负责人终审"


class FundExhausted(InvalidState):
    code = "fund_exhausted"
    message = "本年度帮扶资金余额不足，不能批准这个金额"


class YearlyLimitReached(InvalidState):
    code = "yearly_limit_reached"
    message = "该职工本年度在这一类别已获批准的次数已达上限"


class StandardMissing(DomainError):
    status = 409
    code = "standard_missing"
    message = "工会尚未设置本年度的困难帮扶标准，请联系工会"


class Overpayment(InvalidState):
    code = "overpayment"
    message = "发放合计不能超过批准金额"


def locked(query: sa.Select[Any]) -> sa.Select[Any]:
    """SELECT … FOR UPDATE (PostgreSQL; SQLite takes its write lock per transaction anyway). One place, so
    the concurrency tests' controls can show each race without it."""
    return query.with_for_update()


def lock_application(application_id: int) -> HardshipApplication | None:
    """The application, its row locked until the commit, read afresh (not the session's stale copy)."""
    return db.session.scalar(
        locked(
            sa.select(HardshipApplication).where(HardshipApplication.id == application_id)
        ).execution_options(populate_existing=True)
    )


def require_state(application: HardshipApplication, action: Action) -> None:
    if not allowed(action, application.status):
        raise InvalidState(TRANSITIONS[action].refusal)


def refusal(
    application: HardshipApplication, staff: Staff, action: Action, now: datetime | None = None
) -> DomainError | None:
    """What refuses this staff member `action` on the application now, or None when they may take it,
    read from the workflow table: the actor's permission and scope (outside scope: 404, like a missing
    record), nobody deciding on their own application, the status, then the table's conditions (the
    公示 window, the separation of duties). The operations raise it; the admin's buttons ask it."""
    transition = TRANSITIONS[action]
    permission = ACTOR_PERMISSIONS.get(transition.actor)
    if permission is None:
        return PermissionDenied()
    if not staff.in_scope(application.group):
        return NotFound()
    if transition.actor == Actor.publicity_starter:
        if not (staff.id == application.first_approver_id or staff.can(Permission.approve_hardship)):
            return PermissionDenied("只有初审人或主席可以开始公示")
    elif not staff.can(permission):
        return PermissionDenied()
    if action in DECISIONS and staff.member_id is not None and staff.member_id == application.member_id:
        return OwnApplication()
    if not allowed(action, application.status):
        return InvalidState(transition.refusal)
    if transition.after_publicity and application.publicity_ended_at is None:
        return InvalidState(transition.refusal)
    if transition.not_first_approver and staff.id == application.first_approver_id:
        return SameApprover()
    if transition.publicity_open:
        now = now or utcnow()
        if application.publicity_ended_at is not None or (application.publicity_ends_at or now) <= now:
            return InvalidState("公示期已结束，不能再登记异议")
    return None


def require_staff(
    application: HardshipApplication, staff: Staff, action: Action, now: datetime | None = None
) -> None:
    """Raises `refusal(...)`, if any."""
    error = refusal(application, staff, action, now)
    if error is not None:
        raise error


def add_event(
    application: HardshipApplication,
    action: Action | str,
    *,
    from_status: Status | None,
    staff: Staff | None = None,
    by_applicant: bool = False,
    comment: str = "",
) -> HardshipEvent:
    event = HardshipEvent(
        application=application,
        action=str(action),
        staff_id=staff.id if staff else None,
        by_applicant=by_applicant,
        from_status=from_status.value if from_status else None,
        to_status=application.status.value,
        comment=comment,
    )
    db.session.add(event)
    db.session.flush()
    return event


def take_down_notice(application: HardshipApplication, now: datetime | None = None) -> bool:
    """Withdraws the application's 公示 announcement if it is still showing (in the name of the staff
    member who posted it), when the window ends or the applicant withdraws. Should that staff member no
    longer be allowed to manage it, it is logged and left for staff to take down: the step still happens."""
    if application.publicity_announcement_id is None:
        return False
    announcement = db.session.get(Announcement, application.publicity_announcement_id)
    if announcement is None or announcement.status != AnnouncementStatus.published:
        return False
    try:
        with db.session.begin_nested():
            withdraw(announcement, staff=announcement.author, now=now)
    except DomainError:
        log.warning("hardship %s: could not withdraw 公示 announcement %s", application.id, announcement.id)
        return False
    return True


def tell_applicant(application: HardshipApplication, event: HardshipEvent, title: str, body: str) -> None:
    """The applicant's inbox message for this step (once per timeline row)."""
    if application.member is None:
        return
    notify(
        application.member,
        kind="application",
        title=title,
        body=body,
        link=MEMBER_LINK.format(id=application.id),
        dedupe_key=f"hardship:{application.id}:{event.id}",
        data={"status": application.status_label, "note": body},
    )
