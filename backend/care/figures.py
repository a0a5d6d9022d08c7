"""Care figures for the admin: visits by category and by group for a period, spent against each budget,
the confirmation (电子签收) rate and the average rating (the ledger export: backend/care/ledger.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from backend.care.models import CATEGORY_LABELS, CareCategory, CareVisit, VisitStatus
from backend.care.policy import rules_for
from backend.extensions import db
from backend.members.models import Group, Member
from backend.money import yuan
from backend.staff.models import Staff


@dataclass(frozen=True)
class Line:
    label: str
    visits: int
    spent_fen: int
    confirmed: int
    rating_sum: int
    rated: int
    budget_fen: int | None = None

    @property
    def confirm_rate(self) -> float:
        return self.confirmed / self.visits if self.visits else 0.0

    @property
    def confirm_percent(self) -> str:
        return f"{round(self.confirm_rate * 100)}%" if self.visits else "—"

    @property
    def average_rating(self) -> str:
        return f"{self.rating_sum / self.rated:.1f}" if self.rated else "—"

    @property
    def spent_yuan(self) -> str:
        return yuan(self.spent_fen)

    @property
    def budget_yuan(self) -> str:
        return yuan(self.budget_fen)

    @property
    def budget_share(self) -> float:
        return min(self.spent_fen / self.budget_fen, 1.0) if self.budget_fen else 0.0


def _columns() -> list[Any]:
    return [
        sa.func.count(CareVisit.id),
        sa.func.coalesce(sa.func.sum(CareVisit.amount_fen), 0),
        sa.func.count(CareVisit.received_at),
        sa.func.coalesce(sa.func.sum(CareVisit.rating), 0),
        sa.func.count(CareVisit.rating),
    ]


def _base(staff: Staff, start: date, end: date, group: Group | None) -> sa.Select[Any]:
    scope = group or staff.scope
    subtree = sa.select(Group.id).where(Group.path.startswith(scope.path))
    return (
        sa.select(*_columns())
        .join(Member, Member.id == CareVisit.member_id)
        .where(
            staff.scope_filter(Member.group_id),
            CareVisit.group_id.in_(subtree),
            CareVisit.status == VisitStatus.done,
            CareVisit.visited_on.between(start, end),
        )
    )


def by_category(staff: Staff, start: date, end: date, group: Group | None = None) -> list[Line]:
    query = _base(staff, start, end, group).add_columns(CareVisit.category).group_by(CareVisit.category)
    rows = {row[-1]: list(row[:-1]) for row in db.session.execute(query)}
    rules = rules_for(start.year)
    lines = []
    for category in CareCategory:
        counts = rows.get(category, [0, 0, 0, 0, 0])
        rule = rules.get(category)
        if not counts[0] and rule is None:
            continue
        lines.append(
            Line(CATEGORY_LABELS[category.value], *counts, budget_fen=rule.budget_fen if rule else None)
        )
    return lines


def by_group(staff: Staff, start: date, end: date, group: Group | None = None) -> list[Line]:
    """One line for each group directly below the chosen one (its subtree's visits)."""
    parent = group or staff.scope
    lines = []
    for child in sorted(parent.children, key=lambda g: (g.sort_order, g.id)):
        counts = db.session.execute(_base(staff, start, end, child)).one()
        lines.append(Line(child.name, *counts))
    return lines


@dataclass(frozen=True)
class Periods:
    """The period's visits per calendar month and per quarter it touches, empty ones included."""

    months: list[Line]
    quarters: list[Line]


def by_period(staff: Staff, start: date, end: date, group: Group | None = None) -> Periods:
    """From `start`'s month to `end`'s, counting only visits inside the period (a period from 15 March
    counts March from the 15th). Labels carry the year only when the period spans two years."""
    year, month = sa.extract("year", CareVisit.visited_on), sa.extract("month", CareVisit.visited_on)
    query = _base(staff, start, end, group).add_columns(year, month).group_by(year, month)
    found = {(int(row[-2]), int(row[-1])): list(row[:-2]) for row in db.session.execute(query)}
    spans = start.year != end.year
    keys = [(y, m) for y in range(start.year, end.year + 1) for m in range(1, 13)]
    keys = [key for key in keys if (start.year, start.month) <= key <= (end.year, end.month)]
    months = [Line(f"{y}年{m}月" if spans else f"{m}月", *found.get((y, m), [0] * 5)) for y, m in keys]
    quarters: dict[tuple[int, int], list[int]] = {}
    for (y, m), line in zip(keys, months, strict=True):
        totals = quarters.setdefault((y, (m - 1) // 3 + 1), [0] * 5)
        for i, value in enumerate((line.visits, line.spent_fen, line.confirmed, line.rating_sum, line.rated)):
            totals[i] += value
    return Periods(
        months,
        [Line(f"{y}年第{q}季度" if spans else f"第{q}季度", *totals) for (y, q), totals in quarters.items()],
    )
