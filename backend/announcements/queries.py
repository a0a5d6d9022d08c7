"""Read-side helpers: what a member may see, what staff may manage, and the delivery figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload

from backend.announcements.models import (
    Announcement,
    AnnouncementCategory,
    AnnouncementRecipient,
    AnnouncementStatus,
    announcement_attachments,
    announcement_groups,
)
from backend.announcements.operations import notification_prefix
from backend.errors import DomainError, NotFound
from backend.extensions import db
from backend.members.models import Group, Member, MemberStatus
from backend.members.queries import group_ids_in_path
from backend.notifications.models import DeliveryState, Notification
from backend.staff.models import Staff
from backend.staff.permissions import Permission


class AnnouncementWithdrawn(DomainError):
    status = 410
    code = "announcement_withdrawn"
    message = "该公告已被撤回"


# --- what a member sees --------------------------------------------------------------------------


def _reader(member: Member | None) -> Member | None:
    """The member who may read announcements: only an active one. Announcements are for active
    members of the audience (API.md), so an unbound account, a pending member (their join request
    not yet approved) and one who left read none, not even the whole-union ones: what a union tells
    its members is not for whoever opens the mini-program."""
    return member if member is not None and member.status == MemberStatus.active else None


def _audience_includes(member: Member | None) -> sa.ColumnElement[bool]:
    """Whole union; or a chosen group that is the member's group or above it (a branch reaches all
    groups below it); or the member was among the recipients when it was published (转会 since).
    Nothing at all without a reader (see `_reader`)."""
    if member is None:
        return sa.false()
    sent = aliased(AnnouncementRecipient)  # the list query joins the member's own row too
    return sa.or_(
        Announcement.whole_union.is_(True),
        sa.exists().where(
            announcement_groups.c.announcement_id == Announcement.id,
            announcement_groups.c.group_id.in_(group_ids_in_path(member.group)),
        ),
        sa.exists().where(
            sent.announcement_id == Announcement.id,
            sent.member_id == member.id,
            sent.in_snapshot.is_(True),
        ),
    )


def member_announcements(
    member: Member | None, *, category: AnnouncementCategory | None = None
) -> sa.Select[tuple[Announcement, datetime | None]]:
    """Published announcements the member may see, with their read time; pinned first, then newest."""
    reader = _reader(member)
    query = sa.select(Announcement, AnnouncementRecipient.read_at if reader else sa.null()).where(
        Announcement.status == AnnouncementStatus.published, _audience_includes(reader)
    )
    if reader is not None:
        query = query.outerjoin(
            AnnouncementRecipient,
            sa.and_(
                AnnouncementRecipient.announcement_id == Announcement.id,
                AnnouncementRecipient.member_id == reader.id,
            ),
        )
    if category is not None:
        query = query.where(Announcement.category == category)
    return query.order_by(
        Announcement.pinned.desc(), Announcement.published_at.desc(), Announcement.id.desc()
    )


def announcement_for_member(announcement_id: int, member: Member | None) -> Announcement:
    """The announcement if the member may read it; 404 exactly like a missing id otherwise.

    A withdrawn one that the member could have read answers 410 `announcement_withdrawn`, so the
    link in their inbox message can say 已撤回.
    """
    announcement = db.session.scalar(
        sa.select(Announcement).where(
            Announcement.id == announcement_id,
            Announcement.status.in_([AnnouncementStatus.published, AnnouncementStatus.withdrawn]),
            _audience_includes(_reader(member)),
        )
    )
    if announcement is None:
        raise NotFound()
    if announcement.status == AnnouncementStatus.withdrawn:
        raise AnnouncementWithdrawn()
    return announcement


def attachment_readable_by(upload_id: int, member: Member | None) -> bool:
    """True when the upload is attached to a published announcement the member may read.

    The same audience rule as `announcement_for_member`; a withdrawn announcement's files are no
    longer served (no 410 here: a file link is answered like a missing one).
    """
    reader = _reader(member)
    if reader is None:
        return False
    return bool(
        db.session.scalar(
            sa.select(
                sa.exists().where(
                    announcement_attachments.c.upload_id == upload_id,
                    announcement_attachments.c.announcement_id == Announcement.id,
                    Announcement.status == AnnouncementStatus.published,
                    _audience_includes(reader),
                )
            )
        )
    )


def is_read(announcement: Announcement, member: Member | None) -> bool:
    reader = _reader(member)
    if reader is None:
        return False
    read_at = db.session.scalar(
        sa.select(AnnouncementRecipient.read_at).where(
            AnnouncementRecipient.announcement_id == announcement.id,
            AnnouncementRecipient.member_id == reader.id,
        )
    )
    return read_at is not None


# --- what staff manage ---------------------------------------------------------------------------


def manageable_by(staff: Staff) -> sa.ColumnElement[bool]:
    """SQL twin of `Announcement.can_manage`: the whole audience lies in the staff member's scope."""
    if not staff.can(Permission.manage_announcements):
        return sa.false()
    if staff.holds_whole_union:
        return sa.true()
    outside_scope = (
        sa.select(announcement_groups.c.group_id)
        .join(Group, Group.id == announcement_groups.c.group_id)
        .where(
            announcement_groups.c.announcement_id == Announcement.id,
            sa.not_(Group.path.startswith(staff.scope.path)),
        )
    )
    return sa.and_(
        Announcement.whole_union.is_(False),
        sa.exists().where(announcement_groups.c.announcement_id == Announcement.id),
        ~sa.exists(outside_scope),
    )


def staff_announcements(
    staff: Staff,
    *,
    status: AnnouncementStatus | None = None,
    category: AnnouncementCategory | None = None,
) -> sa.Select[tuple[Announcement]]:
    query = (
        sa.select(Announcement)
        .options(selectinload(Announcement.groups), joinedload(Announcement.author))
        .where(manageable_by(staff))
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
    )
    if status is not None:
        query = query.where(Announcement.status == status)
    if category is not None:
        query = query.where(Announcement.category == category)
    return query


def announcement_for_staff(announcement_id: int, staff: Staff) -> Announcement:
    announcement = db.session.get(Announcement, announcement_id)
    if announcement is None or not announcement.can_manage(staff):
        raise NotFound()
    return announcement


# --- figures ----------------------------------------------------------------------------------------


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
    def read_rate(self) -> float:
        return self.read / self.recipients if self.recipients else 0.0

    @property
    def read_percent(self) -> str:
        return f"{self.read_rate * 100:.1f}%"

    def add(self, other: Figures) -> None:
        for name in ("recipients", "sent", "no_credit", "failed", "skipped", "pending", "read"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class GroupFigures:
    group_id: int
    group_name: str
    group_path: str
    figures: Figures


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


def _figures_query(*group_by: Any) -> sa.Select[Any]:
    return (
        sa.select(*group_by, *_figure_columns())
        .select_from(AnnouncementRecipient)
        .outerjoin(Notification, Notification.dedupe_key == _publication_key())
        .where(AnnouncementRecipient.in_snapshot.is_(True))
        .group_by(*group_by)
    )


def figures_by_announcement(announcement_ids: list[int]) -> dict[int, Figures]:
    """Totals for many announcements in one aggregate query (the admin list)."""
    if not announcement_ids:
        return {}
    query = _figures_query(AnnouncementRecipient.announcement_id).where(
        AnnouncementRecipient.announcement_id.in_(announcement_ids)
    )
    return {row[0]: Figures(*row[1:]) for row in db.session.execute(query)}


def figures_by_group(announcement: Announcement) -> tuple[list[GroupFigures], Figures]:
    """Per group (the group each recipient was in when it was published), and the total."""
    query = (
        _figures_query(Group.id, Group.name, Group.path)
        .join(Group, Group.id == AnnouncementRecipient.group_id)
        .where(AnnouncementRecipient.announcement_id == announcement.id)
        .order_by(Group.path)
    )
    rows = [GroupFigures(row[0], row[1], row[2], Figures(*row[3:])) for row in db.session.execute(query)]
    total = Figures()
    for row in rows:
        total.add(row.figures)
    return rows, total


def _unread(announcement: Announcement) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        AnnouncementRecipient.announcement_id == announcement.id,
        AnnouncementRecipient.in_snapshot.is_(True),
        AnnouncementRecipient.read_at.is_(None),
    )


def unread_recipients(announcement: Announcement) -> sa.Select[Any]:
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
        .where(*_unread(announcement))
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


def unread_page(announcement: Announcement, *, page: int, per_page: int) -> Pagination:
    """One page of `unread_recipients` (Flask-SQLAlchemy's pagination of the recipients, whose items
    become `UnreadRecipient` rows): three queries, whatever the page size."""
    recipients = (
        sa.select(AnnouncementRecipient)
        .join(AnnouncementRecipient.member)
        .join(AnnouncementRecipient.group)
        .options(contains_eager(AnnouncementRecipient.member), contains_eager(AnnouncementRecipient.group))
        .where(*_unread(announcement))
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
