"""The household file (一户一档): opened or renewed by a final approval, due for review a year later;
a review keeps it (new due date), changes its tier, or closes it (脱困 / 退档, reason required)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TypeVar

import sqlalchemy as sa

from backend.audit.operations import record
from backend.errors import NotFound, PermissionDenied, ValidationFailed
from backend.extensions import db
from backend.hardship.limits import COMMENT_MAX
from backend.hardship.models import (
    ClosingReason,
    FileStatus,
    HardshipApplication,
    HardshipFile,
    HardshipFileReview,
    ReviewOutcome,
    Tier,
)
from backend.notifications.operations import notify
from backend.staff.models import Staff
from backend.staff.permissions import Permission

D = TypeVar("D", bound=date)  # a date, or a datetime (a subclass)
DUE_WITHIN = timedelta(days=30)
REMIND_BEFORE = timedelta(days=31)


def shift_years(day: D, years: int) -> D:
    """The same day `years` later (or earlier, when negative); 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def a_year_after(day: date) -> date:
    return shift_years(day, 1)


def open_or_renew_file(application: HardshipApplication, on: date) -> HardshipFile | None:
    if application.member_id is None or application.tier is None:
        return None
    file = db.session.scalar(sa.select(HardshipFile).where(HardshipFile.member_id == application.member_id))
    tier = application.tier if application.tier != Tier.none else Tier.sudden
    if file is None:
        file = HardshipFile(member_id=application.member_id, opened_on=on)
        db.session.add(file)
    elif file.status == FileStatus.closed:
        file.opened_on = on
    file.group_id = application.group_id
    file.tier = tier
    file.status = FileStatus.active
    file.review_due_on = a_year_after(on)
    file.closed_on = file.closing_reason = file.closing_comment = None
    file.last_application_id = application.id
    db.session.flush()
    return file


def file_for_staff(file_id: int, staff: Staff) -> HardshipFile:
    file = db.session.get(HardshipFile, file_id)
    if file is None or not staff.can(Permission.review_hardship) or not staff.in_scope(file.group):
        raise NotFound()
    return file


def member_file(member_id: int) -> HardshipFile | None:
    return db.session.scalar(sa.select(HardshipFile).where(HardshipFile.member_id == member_id))


def files_due(staff: Staff, today: date) -> sa.Select[tuple[HardshipFile]]:
    """Active files in scope whose yearly review falls in the next 30 days (or is overdue)."""
    return (
        sa.select(HardshipFile)
        .where(
            HardshipFile.status == FileStatus.active,
            HardshipFile.review_due_on <= today + DUE_WITHIN,
            staff.scope_filter(HardshipFile.group_id),
        )
        .order_by(HardshipFile.review_due_on, HardshipFile.id)
    )


def review_file(
    file: HardshipFile,
    *,
    staff: Staff,
    today: date,
    outcome: str,
    tier: Tier | None = None,
    reason: ClosingReason | None = None,
    comment: str = "",
) -> HardshipFile:
    """outcome: keep (new due date, optionally a new tier) or close (脱困 / 退档, with a reason)."""
    if not staff.can(Permission.review_hardship) or not staff.in_scope(file.group):
        raise PermissionDenied()
    if file.status != FileStatus.active:
        raise ValidationFailed(errors={"outcome": ["档案已出档"]})
    comment = (comment or "").strip()[:COMMENT_MAX]
    before = file.tier
    if outcome == "keep":
        if tier is not None and tier != Tier.none:
            file.tier = tier
        file.reviewed_on = today
        file.review_due_on = a_year_after(today)
    elif outcome == "close":
        if reason is None or not comment:
            raise ValidationFailed(errors={"comment": ["出档须选择脱困或退档，并写明原因"]})
        file.status = FileStatus.closed
        file.closing_reason = reason
        file.closing_comment = comment
        file.closed_on = file.reviewed_on = today
    else:
        raise ValidationFailed(errors={"outcome": ["请选择复核结果"]})
    kind = ReviewOutcome.close if outcome == "close" else ReviewOutcome.keep
    if kind == ReviewOutcome.keep and file.tier != before:
        kind = ReviewOutcome.change_tier
    db.session.add(
        HardshipFileReview(
            file_id=file.id,
            reviewed_on=today,
            staff_id=staff.id,
            outcome=kind,
            tier_before=before,
            tier_after=file.tier,
            closing_reason=file.closing_reason if kind == ReviewOutcome.close else None,
            reason=comment or None,
        )
    )
    db.session.flush()
    record("hardship.file_review", staff=staff, target=file, outcome=kind.value, tier=file.tier.value)
    return file


def view_file(file_id: int, staff: Staff) -> HardshipFile:
    """The file page with its review history: one audit row per view (never a value)."""
    file = file_for_staff(file_id, staff)
    record("hardship.view_file", staff=staff, target=file)
    return file


def remind_reviews_due(today: date) -> int:
    """The periodic job: a month before the review, the member is asked to update their information
    (once per due date: the dedupe key holds it)."""
    files = db.session.scalars(
        sa.select(HardshipFile).where(
            HardshipFile.status == FileStatus.active,
            HardshipFile.member_id.is_not(None),
            HardshipFile.review_due_on <= today + REMIND_BEFORE,
        )
    ).all()
    for file in files:
        notify(
            file.member,
            kind="application",
            title="困难职工档案即将复核",
            body=(
                f"您的困难职工档案将于 {file.review_due_on:%Y年%m月%d日} 复核，"
                "如家庭收入、人口等情况有变化，请及时告诉工会。"
            ),
            link="/pages/hardship/file",
            dedupe_key=f"hardship-file-review:{file.id}:{file.review_due_on.isoformat()}",
        )
    return len(files)
