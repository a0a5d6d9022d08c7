"""The care policy in force, and the one check every proposed visit passes (`violations`).

Visits that spend against a year's caps (the festival per-person cap, a category's budget, once-a-year
categories) are checked and written while holding the year's `CarePolicyYear` row lock (`lock_year`):
two staff members recording at the same moment are serialised, so they cannot together break a cap
that each alone would keep (tests/backend/care/test_cap_lock.py on PostgreSQL). SQLite serialises writers
anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.care.models import CareCategory, CarePolicyRule, CarePolicyYear, CareVisit, Frequency
from backend.errors import Conflict
from backend.extensions import db
from backend.members.models import Member
from backend.money import yuan


@dataclass(frozen=True)
class Violation:
    """A rule the proposed visit breaks: a stable code and the sentence staff read."""

    code: str
    message: str


class PolicyViolated(Conflict):
    code = "care_policy_violated"
    message = "这次慰问不符合本年度关怀标准"

    def __init__(self, violations: list[Violation]) -> None:
        text = "；".join(v.message for v in violations)
        super().__init__(f"不符合关怀标准：{text}。如确有必要，请填写例外原因后再提交。")
        self.violations = violations


@dataclass(frozen=True)
class Proposal:
    """A visit to check. A per-event category's event: the request it answers (`request_id`), or the
    date of the event (`event_on`, the request's date when there is one). A campaign's visit passes
    neither: its campaign is its event, planned once per member (the unique (campaign, member))."""

    member: Member
    category: CareCategory
    visited_on: date
    amount_fen: int
    is_cash: bool
    event_on: date | None = None
    request_id: int | None = None


def policy_year(year: int) -> CarePolicyYear | None:
    return db.session.scalar(sa.select(CarePolicyYear).where(CarePolicyYear.year == year))


def ensure_year(year: int) -> CarePolicyYear:
    row = policy_year(year)
    if row is not None:
        return row
    try:
        with db.session.begin_nested():
            row = CarePolicyYear(year=year, festival_warn_percent=80)
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        row = policy_year(year)
        assert row is not None
    return row


def lock_year(year: int) -> CarePolicyYear:
    """Takes the year's row lock (PostgreSQL: SELECT … FOR UPDATE) until the transaction ends."""
    ensure_year(year)
    row = db.session.scalar(
        sa.select(CarePolicyYear)
        .where(CarePolicyYear.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def rules_for(year: int) -> dict[CareCategory, CarePolicyRule]:
    rows = db.session.scalars(sa.select(CarePolicyRule).where(CarePolicyRule.year == year))
    return {rule.category: rule for rule in rows}


def _visits(member: Member | None, category: CareCategory | None, year: int | None) -> sa.Select[tuple[int]]:
    query = sa.select(sa.func.count(CareVisit.id))
    if member is not None:
        query = query.where(CareVisit.member_id == member.id)
    if category is not None:
        query = query.where(CareVisit.category == category)
    if year is not None:
        query = query.where(CareVisit.year == year)
    return query


def spent_fen(*, year: int, category: CareCategory, member: Member | None = None) -> int:
    query = sa.select(sa.func.coalesce(sa.func.sum(CareVisit.amount_fen), 0)).where(
        CareVisit.year == year, CareVisit.category == category
    )
    if member is not None:
        query = query.where(CareVisit.member_id == member.id)
    return int(db.session.scalar(query) or 0)


def violations(proposal: Proposal) -> list[Violation]:
    """Every rule of the visit's year the proposal breaks; an empty list when it keeps them all.

    The counts read the database, flushed rows included (a campaign run flushes each visit it plans).
    """
    year = proposal.visited_on.year
    label = CareCategory(proposal.category)
    rule = rules_for(year).get(label)
    if rule is None:
        return [Violation("no_policy", f"{year} 年度尚未设置该类慰问的标准")]
    found: list[Violation] = []
    found += _frequency(rule, proposal)
    if proposal.amount_fen > rule.max_amount_fen:
        found.append(
            Violation(
                "over_max_amount",
                f"金额超过最高标准 ¥{yuan(rule.max_amount_fen)}（本次 ¥{yuan(proposal.amount_fen)}）",
            )
        )
    if proposal.is_cash and not rule.cash_allowed:
        found.append(Violation("cash_not_allowed", f"「{rule.category_label}」不得发放现金或购物卡"))
    if label == CareCategory.festival:
        found += _festival_cap(proposal, year)
    if rule.budget_fen is not None:
        spent = spent_fen(year=year, category=label)
        if spent + proposal.amount_fen > rule.budget_fen:
            found.append(
                Violation(
                    "over_budget",
                    f"超出本年度该类预算 ¥{yuan(rule.budget_fen)}（已用 ¥{yuan(spent)}）",
                )
            )
    return found


def _frequency(rule: CarePolicyRule, proposal: Proposal) -> list[Violation]:
    year = proposal.visited_on.year
    if rule.frequency == Frequency.per_year and db.session.scalar(
        _visits(proposal.member, rule.category, year)
    ):
        return [Violation("once_a_year", f"该会员本年度已有一次「{rule.category_label}」")]
    if rule.frequency == Frequency.once and db.session.scalar(_visits(proposal.member, rule.category, None)):
        return [Violation("only_once", f"「{rule.category_label}」每人限一次，该会员已有记录")]
    if rule.frequency == Frequency.per_event and _same_event(rule, proposal):
        when = proposal.event_on.isoformat() if proposal.event_on else "同一申请"
        return [Violation("same_event", f"该会员的这次事件（{when}）已有一次「{rule.category_label}」")]
    return []


def _same_event(rule: CarePolicyRule, proposal: Proposal) -> bool:
    """A visit for the same member, category and event: the same request, or the same event date."""
    same = []
    if proposal.request_id is not None:
        same.append(CareVisit.request_id == proposal.request_id)
    if proposal.event_on is not None:
        same.append(CareVisit.event_on == proposal.event_on)
    if not same:
        return False
    return bool(db.session.scalar(_visits(proposal.member, rule.category, None).where(sa.or_(*same))))


def _festival_cap(proposal: Proposal, year: int) -> list[Violation]:
    settings = policy_year(year)
    cap = settings.festival_cap_fen if settings is not None else None
    if cap is None:
        return []
    spent = spent_fen(year=year, category=CareCategory.festival, member=proposal.member)
    if spent + proposal.amount_fen > cap:
        return [
            Violation(
                "over_festival_cap",
                f"超过节日慰问每人每年上限 ¥{yuan(cap)}（该会员本年已 ¥{yuan(spent)}）",
            )
        ]
    return []


def festival_warning(member: Member, year: int) -> str | None:
    """A warning once the member's festival gifts reach the warning share (80 %) of the yearly cap."""
    settings = policy_year(year)
    if settings is None or not settings.festival_cap_fen:
        return None
    spent = spent_fen(year=year, category=CareCategory.festival, member=member)
    if spent * 100 >= settings.festival_cap_fen * settings.festival_warn_percent:
        share = spent * 100 // settings.festival_cap_fen
        return f"该会员本年节日慰问已达上限的 {share}%（¥{yuan(spent)} / ¥{yuan(settings.festival_cap_fen)}）"
    return None
