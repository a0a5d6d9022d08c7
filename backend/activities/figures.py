"""Figures per activity: registered, waitlisted, attended and no-shows by group, and participation
(attended / active members in the audience); and the rows of the 实名制签到表."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backend.activities.models import Activity, Registration, RegistrationStatus
from backend.extensions import db
from backend.members.models import Group, Member, MemberStatus
from backend.members.queries import group_display_paths

S = RegistrationStatus
SEATED_OR_AFTER = (S.registered, S.attended, S.no_show)


@dataclass
class GroupFigures:
    group_id: int | None
    name: str
    registered: int = 0
    waitlisted: int = 0
    attended: int = 0
    no_show: int = 0
    members: int = 0  # active members of the group (in the audience)

    @property
    def rate(self) -> float:
        return self.attended / self.members if self.members else 0.0

    @property
    def rate_percent(self) -> str:
        return f"{self.rate * 100:.1f}%"


def audience_members(activity: Activity) -> sa.ColumnElement[bool]:
    if activity.whole_union:
        return Member.status == MemberStatus.active
    paths = [group.path for group in activity.groups]
    within = sa.select(Group.id).where(sa.or_(*(Group.path.startswith(p) for p in paths)))
    return sa.and_(Member.status == MemberStatus.active, Member.group_id.in_(within))


def activity_figures(activity: Activity) -> tuple[list[GroupFigures], GroupFigures]:
    """One line per group that signed up or is in the audience with members, and the total."""
    counts = db.session.execute(
        sa.select(Registration.group_id, Registration.status, sa.func.count())
        .where(Registration.activity_id == activity.id)
        .group_by(Registration.group_id, Registration.status)
    ).all()
    members = dict(
        db.session.execute(
            sa.select(Member.group_id, sa.func.count())
            .where(audience_members(activity))
            .group_by(Member.group_id)
        )
        .tuples()
        .all()
    )
    lines: dict[int, GroupFigures] = {}
    for group_id, status, n in counts:
        line = lines.setdefault(group_id, GroupFigures(group_id, ""))
        if status in SEATED_OR_AFTER:
            line.registered += n
        if status == S.waitlisted:
            line.waitlisted += n
        if status == S.attended:
            line.attended += n
        if status == S.no_show:
            line.no_show += n
    for group_id, n in members.items():
        lines.setdefault(group_id, GroupFigures(group_id, "")).members = n
    groups = db.session.scalars(sa.select(Group).where(Group.id.in_(list(lines)))).all()
    names = group_display_paths(groups)
    for line in lines.values():
        line.name = names.get(line.group_id or 0, "")
    rows = sorted(lines.values(), key=lambda line: line.name)
    total = GroupFigures(None, "合计")
    for line in rows:
        for key in ("registered", "waitlisted", "attended", "no_show", "members"):
            setattr(total, key, getattr(total, key) + getattr(line, key))
    return rows, total


@dataclass
class SheetRow:
    number: int
    name: str
    employee_no: str
    phone: str
    group: str
    registered_at: datetime
    checked_in_at: datetime | None
    companions: int
    answers: list[Any]


DELETED_NAME = "（已注销）"


def sheet_rows(activity: Activity) -> list[SheetRow]:
    """Everyone who holds a seat (registered, attended, no-show), in order of registration; a deleted
    member's row stays, anonymised."""
    registrations = db.session.scalars(
        sa.select(Registration)
        .where(Registration.activity_id == activity.id, Registration.status.in_(SEATED_OR_AFTER))
        .order_by(Registration.created_at, Registration.id)
    ).all()
    members = {
        m.id: m
        for m in db.session.scalars(
            sa.select(Member).where(Member.id.in_([r.member_id for r in registrations if r.member_id]))
        )
    }
    groups = db.session.scalars(
        sa.select(Group).where(Group.id.in_({r.group_id for r in registrations}))
    ).all()
    names = group_display_paths(groups)
    keys = [field["key"] for field in activity.form_fields]
    rows = []
    for number, r in enumerate(registrations, start=1):
        member = members.get(r.member_id or 0)
        rows.append(
            SheetRow(
                number=number,
                name=member.name if member else DELETED_NAME,
                employee_no=member.employee_no if member else "",
                phone=(member.phone or "") if member else "",
                group=names.get(r.group_id, ""),
                registered_at=r.created_at,
                checked_in_at=r.checked_in_at,
                companions=r.companions,
                answers=[r.answers.get(key, "") for key in keys],
            )
        )
    return rows
