"""What staff do with an application: first-level review, 公示 with objections, the final decision.

Every staff step locks the application's row (SELECT … FOR UPDATE) and then checks its state, so of two
staff acting at once one wins and the other is refused (409 invalid_state). A final approval also locks
the year's fund row while it checks what is left.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from backend.announcements.models import AnnouncementCategory
from backend.announcements.operations import create_announcement, publish
from backend.audit.operations import record
from backend.db import to_local, utcnow
from backend.errors import NotFound, ValidationFailed
from backend.extensions import db
from backend.hardship.files import open_or_renew_file
from backend.hardship.limits import AMOUNT_MAX_FEN, COMMENT_MAX
from backend.hardship.models import HardshipApplication, HardshipObjection, Status
from backend.hardship.standards import fund_row, granted_in, standard_in_force, today
from backend.hardship.tiering import decided_tier
from backend.hardship.timeline import (
    FundExhausted,
    YearlyLimitReached,
    add_event,
    lock_application,
    require_staff,
    take_down_notice,
    tell_applicant,
)
from backend.hardship.workflow import Action
from backend.members.queries import group_display_path
from backend.money import yuan
from backend.staff.models import Staff


def _comment(text: str | None, *, required: str | None = None) -> str:
    comment = (text or "").strip()
    if required and not comment:
        raise ValidationFailed(errors={"comment": [required]})
    if len(comment) > COMMENT_MAX:
        raise ValidationFailed(errors={"comment": [f"意见不能超过 {COMMENT_MAX} 个字"]})
    return comment


def _begin(
    application_id: int, staff: Staff, action: Action, now: datetime | None = None
) -> HardshipApplication:
    """The application, locked, once the workflow table allows this staff member the action now."""
    application = lock_application(application_id)
    if application is None:
        raise NotFound()
    require_staff(application, staff, action, now)
    return application


def _move(
    application: HardshipApplication,
    action: Action,
    staff: Staff,
    to: Status,
    comment: str,
    tell: tuple[str, str],
) -> HardshipApplication:
    before = application.status
    application.status = to
    event = add_event(application, action, from_status=before, staff=staff, comment=comment)
    record(f"hardship.{action.value}", staff=staff, target=application, hardship_status=to.value)
    tell_applicant(application, event, *tell)
    return application


def return_application(application_id: int, *, staff: Staff, comment: str) -> HardshipApplication:
    application = _begin(application_id, staff, Action.return_)
    text = _comment(comment, required="请写明需要补充的材料或信息")
    return _move(
        application,
        Action.return_,
        staff,
        Status.returned,
        text,
        ("困难帮扶申请需要补充材料", f"工会审核后请您补充：{text}。补充后请重新提交。"),
    )


def first_approve(application_id: int, *, staff: Staff, comment: str = "") -> HardshipApplication:
    application = _begin(application_id, staff, Action.first_approve)
    application.first_approver_id = staff.id
    return _move(
        application,
        Action.first_approve,
        staff,
        Status.first_approved,
        _comment(comment),
        ("困难帮扶申请初审通过", "您的申请已通过初审，接下来会在您所在组织公示，公示期满后由工会终审。"),
    )


def reject(application_id: int, *, staff: Staff, comment: str) -> HardshipApplication:
    """First-level rejection (a submitted application)."""
    application = _begin(application_id, staff, Action.reject)
    application.decided_at = utcnow()  # a decision too: the retention period counts from it
    return _rejected(application, Action.reject, staff, comment)


def final_reject(application_id: int, *, staff: Staff, comment: str) -> HardshipApplication:
    """Final rejection, after the 公示 (by a final approver, not the first approver)."""
    application = _begin(application_id, staff, Action.final_reject)
    application.final_decider_id = staff.id
    application.decided_at = utcnow()
    return _rejected(application, Action.final_reject, staff, comment)


def _rejected(
    application: HardshipApplication, action: Action, staff: Staff, comment: str
) -> HardshipApplication:
    text = _comment(comment, required="请写明不通过的原因")
    return _move(
        application,
        action,
        staff,
        Status.rejected,
        text,
        ("困难帮扶申请未通过", f"很遗憾，您的申请未通过。原因：{text}。如有疑问请联系工会。"),
    )


def start_publicity(application_id: int, *, staff: Staff, now: datetime | None = None) -> HardshipApplication:
    """The public notice to the applicant's group: name, group and category only, as an announcement."""
    application = _begin(application_id, staff, Action.start_publicity)
    now = now or utcnow()
    days = standard_in_force().publicity_days
    ends = now + timedelta(days=days)
    name = application.member.name if application.member else "（已注销）"
    body = (
        f"经本人申请、工会初审，拟对以下职工给予困难帮扶，现予公示。\n"
        f"姓名：{name}\n所在组织：{group_display_path(application.group)}\n"
        f"帮扶类别：{application.category_label}\n"
        f"公示期：{to_local(now):%Y年%m月%d日}至{to_local(ends):%Y年%m月%d日}（{days} 天）。"
        "如有异议，请在公示期内向工会反映。"
    )
    announcement = create_announcement(
        staff=staff,
        title="困难职工帮扶公示",
        body_html=body,
        category=AnnouncementCategory.publicity,
        whole_union=False,
        groups=[application.group],
        push=False,
    )
    publish(announcement, staff=staff, now=now)
    application.publicity_announcement_id = announcement.id
    application.publicity_ends_at = ends
    return _move(
        application,
        Action.start_publicity,
        staff,
        Status.publicized,
        f"公示 {days} 天",
        (
            "困难帮扶申请正在公示",
            f"您的申请正在所在组织公示（只公示姓名、组织和帮扶类别），公示期 {days} 天。",
        ),
    )


def record_objection(
    application_id: int, *, staff: Staff, content: str, now: datetime | None = None
) -> HardshipObjection:
    application = _begin(application_id, staff, Action.record_objection, now)
    text = _comment(content, required="请填写异议内容")
    objection = HardshipObjection(application_id=application.id, content=text, recorded_by_id=staff.id)
    db.session.add(objection)
    add_event(
        application, Action.record_objection, from_status=application.status, staff=staff, comment="收到异议"
    )
    db.session.flush()
    record("hardship.record_objection", staff=staff, target=application)
    return objection


def end_publicity_due(now: datetime | None = None, *, limit: int = 100) -> list[int]:
    """The periodic job: a 公示 whose window has passed now waits for the final decision."""
    now = now or utcnow()
    ids = list(
        db.session.scalars(
            sa.select(HardshipApplication.id)
            .where(
                HardshipApplication.status == Status.publicized,
                HardshipApplication.publicity_ended_at.is_(None),
                HardshipApplication.publicity_ends_at <= now,
            )
            .order_by(HardshipApplication.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for application_id in ids:
        application = db.session.get(HardshipApplication, application_id)
        application.publicity_ended_at = now
        objections = len(application.objections)
        taken_down = take_down_notice(application, now)
        event = add_event(
            application,
            Action.end_publicity,
            from_status=application.status,
            comment=f"公示期满，异议 {objections} 条" + ("，公示已撤下" if taken_down else ""),
        )
        tell_applicant(application, event, "困难帮扶公示期满", "您的申请公示期已满，正在等待工会终审。")
    return ids


def final_approve(
    application_id: int, *, staff: Staff, amount_fen: int, comment: str = "", on: datetime | None = None
) -> HardshipApplication:
    """Final approval: not by the first approver, within the year's fund (locked) and yearly limit."""
    application = _begin(application_id, staff, Action.final_approve)
    if not isinstance(amount_fen, int) or not 1 <= amount_fen <= AMOUNT_MAX_FEN:
        raise ValidationFailed(errors={"amount_fen": ["请填写批准金额（大于零）"]})
    decided_on = today()
    fund_row(decided_on.year, lock=True)  # the lock: one approval at a time checks what is left
    standard = standard_in_force(decided_on)
    _check_limits(application, standard.yearly_limit, decided_on.year)
    left = standard.fund_total_fen - granted_in(decided_on.year)
    category_fund = standard.category_funds.get(application.category.value)
    if amount_fen > left or (
        category_fund is not None
        and amount_fen > category_fund - granted_in(decided_on.year, application.category)
    ):
        raise FundExhausted()
    application.tier = decided_tier(application, standard)
    application.granted_amount_fen = amount_fen
    application.standard_id = standard.id
    application.decision_year = decided_on.year
    application.final_decider_id = staff.id
    application.decided_at = on or utcnow()
    open_or_renew_file(application, decided_on)
    return _move(
        application,
        Action.final_approve,
        staff,
        Status.approved,
        _comment(comment),
        ("困难帮扶申请已批准", f"您的申请已批准，帮扶金额 {yuan(amount_fen)} 元，工会将尽快发放。"),
    )


def _check_limits(application: HardshipApplication, limit: int, year: int) -> None:
    approved = db.session.scalar(
        sa.select(sa.func.count()).where(
            HardshipApplication.member_id == application.member_id,
            HardshipApplication.category == application.category,
            HardshipApplication.decision_year == year,
            HardshipApplication.status.in_([Status.approved, Status.disbursed]),
            HardshipApplication.id != application.id,
        )
    )
    if application.member_id is not None and (approved or 0) >= limit:
        raise YearlyLimitReached()
