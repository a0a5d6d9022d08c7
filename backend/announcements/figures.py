"""Who got an announcement and who read it: delivery and read figures per announcement and per group, the
groups as a tree with branch subtotals, and the list of those who have not read it.

Every function takes `within`: None for all recipients (staff who manage the announcement), or a group,
for only the recipients who were in that group's subtree when it was published (an officer following a
union-wide announcement in their branch, see `queries.figures_scope`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import contains_eager

from backend.announcements.models import Announcement, AnnouncementRecipient
from backend.announcements.operations import notification_prefix
from backend.extensions import db
from backend.members.models import Group, Member
from backend.members.queries import group_tree
from backend.notifications.models import DeliveryState, Notification
from backend.staff.models import Staff

FIGURE_FIELDS = ("recipients", "sent", "no_credit", "failed", "skipped", "pending", "read")


@dataclass
class Figures:
    recipients: int = 0
    sent: int = 0
    no_credit: int = 0
    failed: int = 0
    skipped: int = 0
    pending: int = 0
    read: int = 0

    @property
    def unread(self) -> int:
        return self.recipients - self.read

    @property
    def read_rate(self) -> float:
        return self.read / self.recipients if self.recipients else 0.0

    @property
    def read_percent(self) -> str:
        return f"{self.read_rate * 100:.1f}%"

    def add(self, other: Figures) -> None:
        for name in FIGURE_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class GroupFigures:
    group_id: int
    group_name: str
    group_path: str
    figures: Figures


def _in_subtree(within: Group | None) -> sa.ColumnElement[bool]:
    """The recipient was in `within` or below it when the announcement was published."""
    if within is None:
        return sa.true()
    return AnnouncementRecipient.group_id.in_(sa.select(Group.id).where(Group.path.startswith(within.path)))


def _publication_key() -> sa.ColumnElement[str]:
    """The dedupe key of the publication's message to a recipient (see operations.notification_prefix)."""
    R = AnnouncementRecipient
    return (
        sa.literal("announcement:")
        + sa.cast(R.announcement_id, sa.String)
        + sa.literal(":")
        + sa.cast(R.member_id, sa.String)
    )


def _count_where(condition: sa.ColumnElement[bool]) -> Any:
    return sa.func.count(sa.case((condition, 1)))


def _figure_columns() -> list[Any]:
    state = Notification.wechat_state
    return [
        sa.func.count(AnnouncementRecipient.id),
        _count_where(state == DeliveryState.sent),
        _count_where(state == DeliveryState.no_credit),
        _count_where(state == DeliveryState.failed),
        _count_where(state == DeliveryState.skipped),
        _count_where(state.in_([DeliveryState.pending, DeliveryState.sending])),
        _count_where(AnnouncementRecipient.read_at.is_not(None)),
    ]


def _figures_query(*group_by: Any, within: Group | None = None) -> sa.Select[Any]:
    return (
        sa.select(*group_by, *_figure_columns())
        .select_from(AnnouncementRecipient)
        .outerjoin(Notification, Notification.dedupe_key == _publication_key())
        .where(AnnouncementRecipient.in_snapshot.is_(True), _in_subtree(within))
        .group_by(*group_by)
    )


def figures_by_announcement(
    announcement_ids: list[int], *, within: Group | None = None
) -> dict[int, Figures]:
    """Totals for many announcements in one aggregate query (the admin list)."""
    if not announcement_ids:
        return {}
    query = _figures_query(AnnouncementRecipient.announcement_id, within=within).where(
        AnnouncementRecipient.announcement_id.in_(announcement_ids)
    )
    return {row[0]: Figures(*row[1:]) for row in db.session.execute(query)}


def figures_for_staff(announcements: list[Announcement], staff: Staff) -> dict[int, Figures]:
    """The list's totals as the staff member may see them: all recipients of what they manage, only
    their scope's of what they merely view (one query unless the page holds both kinds)."""
    managed = [a.id for a in announcements if a.can_manage(staff)]
    viewed = [a.id for a in announcements if not a.can_manage(staff)]
    return {**figures_by_announcement(managed), **figures_by_announcement(viewed, within=staff.scope)}


def figures_by_group(
    announcement: Announcement, *, within: Group | None = None
) -> tuple[list[GroupFigures], Figures]:
    """Per group (the group each recipient was in when it was published), and the total."""
    query = (
        _figures_query(Group.id, Group.name, Group.path, within=within)
        .join(Group, Group.id == AnnouncementRecipient.group_id)
        .where(AnnouncementRecipient.announcement_id == announcement.id)
        .order_by(Group.path)
    )
    rows = [GroupFigures(row[0], row[1], row[2], Figures(*row[3:])) for row in db.session.execute(query)]
    total = Figures()
    for row in rows:
        total.add(row.figures)
    return rows, total


# --- the groups as a tree ------------------------------------------------------------------------


@dataclass
class FigureRow:
    """A line of the figures table. `subtotal`: a branch, summing itself and every group below it;
    `own`: the members directly in a branch (本级), shown under its subtotal."""

    group_id: int
    name: str
    depth: int
    figures: Figures
    subtotal: bool = False
    own: bool = False


@dataclass
class FigureTree:
    rows: list[FigureRow] = field(default_factory=list)
    total: Figures = field(default_factory=Figures)


def _subtree_sum(group: Group, own: dict[int, GroupFigures]) -> Figures:
    figures = Figures()
    for row in own.values():
        if row.group_path.startswith(group.path):
            figures.add(row.figures)
    return figures


def figures_tree(announcement: Announcement, root: Group, *, within: Group | None = None) -> FigureTree:
    """The groups under `root` in the order of the group tree, each branch with the subtotal of its
    subtree (the members directly in it as a 本级 line below), groups nobody got it in left out.

    `root` itself is not a subtotal line (the table's total is): its own members are a 本级 line and its
    children start the tree. Recipients in groups outside `root` (a group moved since) come last.
    Two queries: the per-group figures and the group tree.
    """
    per_group, total = figures_by_group(announcement, within=within)
    own = {row.group_id: row for row in per_group}
    tree = FigureTree(total=total)
    placed: set[int] = set()
    for group, depth in group_tree(root):
        placed.add(group.id)
        mine = own[group.id].figures if group.id in own else None
        subtree = _subtree_sum(group, own)
        if not subtree.recipients:
            continue
        branch = subtree.recipients != (mine.recipients if mine else 0)
        if group.id == root.id:
            if mine is not None:
                tree.rows.append(FigureRow(group.id, group.name, 0, mine, own=branch))
            continue
        level = depth - 1
        if not branch:
            tree.rows.append(FigureRow(group.id, group.name, level, subtree))
            continue
        tree.rows.append(FigureRow(group.id, group.name, level, subtree, subtotal=True))
        if mine is not None:
            tree.rows.append(FigureRow(group.id, group.name, level + 1, mine, own=True))
    for row in per_group:
        if row.group_id not in placed:
            tree.rows.append(FigureRow(row.group_id, row.group_name, 0, row.figures))
    return tree


# --- who has not read it -------------------------------------------------------------------------


def _unread(announcement: Announcement, within: Group | None) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        AnnouncementRecipient.announcement_id == announcement.id,
        AnnouncementRecipient.in_snapshot.is_(True),
        AnnouncementRecipient.read_at.is_(None),
        _in_subtree(within),
    )


def unread_recipients(announcement: Announcement, *, within: Group | None = None) -> sa.Select[Any]:
    """Who has not read it yet: member, their group then, delivery state, last reminder."""
    return (
        sa.select(
            Member.id,
            Member.name,
            Member.employee_no,
            Group.name.label("group_name"),
            Notification.wechat_state,
            AnnouncementRecipient.last_reminded_at,
        )
        .select_from(AnnouncementRecipient)
        .join(Member, Member.id == AnnouncementRecipient.member_id)
        .join(Group, Group.id == AnnouncementRecipient.group_id)
        .outerjoin(Notification, Notification.dedupe_key == _publication_key())
        .where(*_unread(announcement, within))
        .order_by(Group.path, Member.employee_no)
    )


@dataclass(frozen=True)
class UnreadRecipient:
    """A row of the figures page's 未读会员 list (the columns of `unread_recipients`)."""

    id: int
    name: str
    employee_no: str
    group_name: str
    wechat_state: DeliveryState | None
    last_reminded_at: datetime | None


def unread_page(
    announcement: Announcement, *, page: int, per_page: int, within: Group | None = None
) -> Pagination:
    """One page of `unread_recipients` (Flask-SQLAlchemy's pagination of the recipients, whose items
    become `UnreadRecipient` rows): three queries, whatever the page size."""
    recipients = (
        sa.select(AnnouncementRecipient)
        .join(AnnouncementRecipient.member)
        .join(AnnouncementRecipient.group)
        .options(contains_eager(AnnouncementRecipient.member), contains_eager(AnnouncementRecipient.group))
        .where(*_unread(announcement, within))
        .order_by(Group.path, Member.employee_no)
    )
    pagination = db.paginate(recipients, page=page, per_page=per_page, error_out=False)
    prefix = notification_prefix(announcement.id)
    keys = {f"{prefix}:{r.member_id}" for r in pagination.items}
    states = dict(
        db.session.execute(
            sa.select(Notification.dedupe_key, Notification.wechat_state).where(
                Notification.dedupe_key.in_(keys)
            )
        ).all()
    )
    pagination.items = [
        UnreadRecipient(
            id=r.member_id,
            name=r.member.name,
            employee_no=r.member.employee_no,
            group_name=r.group.name,
            wechat_state=states.get(f"{prefix}:{r.member_id}"),
            last_reminded_at=r.last_reminded_at,
        )
        for r in pagination.items
    ]
    return pagination
