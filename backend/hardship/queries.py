"""Staff reads: the application (each view audited), the review queue by state and scope with counts,
what a viewer may do now, the fund and the ledger."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from backend.audit.operations import record
from backend.errors import NotFound
from backend.extensions import db
from backend.hardship.models import (
    DECIDED_STATUSES,
    Category,
    HardshipApplication,
    HardshipObjection,
    HardshipStandard,
    Status,
    Tier,
)
from backend.hardship.standards import current_standard, granted_in, standard_in_force
from backend.hardship.tiering import computed_tier
from backend.hardship.timeline import StandardMissing, refusal
from backend.hardship.workflow import STAFF_ACTIONS, Action
from backend.staff.models import Staff
from backend.staff.permissions import Permission
from backend.uploads.models import Upload


def can_open(staff: Staff) -> bool:
    return any(staff.can(p) for p in (Permission.review_hardship, Permission.approve_hardship))


def application_for_staff(application_id: int, staff: Staff) -> HardshipApplication:
    """An application whose applicant lies in the viewer's scope; anything else is 404. Drafts are the
    applicant's own until submitted: staff never see them."""
    application = db.session.get(HardshipApplication, application_id)
    if (
        application is None
        or not can_open(staff)
        or application.status == Status.draft
        or not staff.in_scope(application.group)
    ):
        raise NotFound()
    return application


def view_application(application_id: int, staff: Staff) -> HardshipApplication:
    """The application page: one audit row per view (who, which record, when; never a value)."""
    application = application_for_staff(application_id, staff)
    record("hardship.view", staff=staff, target=application)
    return application


def attachment_for_staff(application_id: int, upload_id: int, staff: Staff) -> Upload:
    application = application_for_staff(application_id, staff)
    upload = next((u for u in application.attachments if u.id == upload_id), None)
    if upload is None:
        raise NotFound()
    record("hardship.view_attachment", staff=staff, target=application, upload_id=upload.id)
    return upload


def queue(staff: Staff, status: Status | None) -> sa.Select[tuple[HardshipApplication]]:
    query = sa.select(HardshipApplication).where(
        HardshipApplication.status != Status.draft, staff.scope_filter(HardshipApplication.group_id)
    )
    if status is not None:
        query = query.where(HardshipApplication.status == status)
    return query.order_by(HardshipApplication.updated_at.desc(), HardshipApplication.id.desc())


def queue_counts(staff: Staff) -> dict[str, int]:
    rows = db.session.execute(
        sa.select(HardshipApplication.status, sa.func.count())
        .where(HardshipApplication.status != Status.draft, staff.scope_filter(HardshipApplication.group_id))
        .group_by(HardshipApplication.status)
    )
    return {status.value: n for status, n in rows}


def may_take(staff: Staff, application: HardshipApplication, action: Action) -> bool:
    """Whether this viewer may take `action` now (the buttons the application page shows): exactly
    when the operation would not refuse it (timeline.refusal reads the workflow table for both)."""
    return refusal(application, staff, action) is None


def computed_tier_now(application: HardshipApplication) -> Tier | None:
    """The tier the declared figures give against the standard of the decision (or the one in force);
    None while no standard is set."""
    try:
        standard = application.standard or standard_in_force()
    except StandardMissing:
        return None
    return computed_tier(application, standard)


def actions_for(staff: Staff, application: HardshipApplication) -> list[Action]:
    return [action for action in STAFF_ACTIONS if may_take(staff, application, action)]


@dataclass(frozen=True)
class FundFigures:
    year: int
    standard: HardshipStandard | None
    granted_fen: int
    left_fen: int
    by_category: list[tuple[str, int | None, int]]  # category, its own ceiling or None, granted


def fund_figures(year: int) -> FundFigures:
    standard = current_standard(year)
    granted = granted_in(year)
    total = standard.fund_total_fen if standard else 0
    categories = [
        (c.value, (standard.category_funds or {}).get(c.value) if standard else None, granted_in(year, c))
        for c in Category
    ]
    return FundFigures(year, standard, granted, total - granted, categories)


def ledger_rows(staff: Staff, year: int) -> list[tuple[str, str, int, int, int]]:
    """(category, tier, applications, granted, disbursed) for decided applications in scope that year."""
    rows = db.session.execute(
        sa.select(
            HardshipApplication.category,
            HardshipApplication.tier,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(HardshipApplication.granted_amount_fen), 0),
            sa.func.coalesce(sa.func.sum(HardshipApplication.disbursed_fen), 0),
        )
        .where(
            HardshipApplication.decision_year == year,
            HardshipApplication.status.in_(DECIDED_STATUSES),
            HardshipApplication.granted_amount_fen.is_not(None),
            staff.scope_filter(HardshipApplication.group_id),
        )
        .group_by(HardshipApplication.category, HardshipApplication.tier)
        .order_by(HardshipApplication.category, HardshipApplication.tier)
    )
    return [(c.value, t.value if t else "", n, int(g), int(d)) for c, t, n, g, d in rows]


def publicity_list(staff: Staff) -> list[tuple[HardshipApplication, int]]:
    """Applications in 公示 in scope, the open windows first, with how many objections each has."""
    objections = (
        sa.select(sa.func.count(HardshipObjection.id))
        .where(HardshipObjection.application_id == HardshipApplication.id)
        .correlate(HardshipApplication)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(HardshipApplication, objections)
        .where(
            HardshipApplication.status == Status.publicized, staff.scope_filter(HardshipApplication.group_id)
        )
        .order_by(HardshipApplication.publicity_ended_at.is_not(None), HardshipApplication.publicity_ends_at)
    )
    return [(application, n) for application, n in rows]
