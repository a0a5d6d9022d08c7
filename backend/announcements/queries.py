"""Read-side helpers: what a member may see, and what staff may manage or view (the delivery and read
figures are in `figures.py`)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload, selectinload

from backend.announcements.models import (
    Announcement,
    AnnouncementCategory,
    AnnouncementRecipient,
    AnnouncementStatus,
    announcement_attachments,
    announcement_groups,
)
from backend.errors import DomainError, NotFound
from backend.extensions import db
from backend.members.models import Group, Member, MemberStatus
from backend.members.queries import group_ids_in_path
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


def viewable_by(staff: Staff) -> sa.ColumnElement[bool]:
    """SQL twin of `Announcement.can_view`: managed, or sent to an audience covering the whole scope."""
    if not staff.can(Permission.manage_announcements):
        return sa.false()
    if staff.holds_whole_union:
        return sa.true()
    above_scope = sa.exists().where(
        announcement_groups.c.announcement_id == Announcement.id,
        announcement_groups.c.group_id.in_(group_ids_in_path(staff.scope)),
    )
    return sa.or_(
        manageable_by(staff),
        sa.and_(
            Announcement.status.in_([AnnouncementStatus.published, AnnouncementStatus.withdrawn]),
            sa.or_(Announcement.whole_union.is_(True), above_scope),
        ),
    )


def staff_announcements(
    staff: Staff,
    *,
    status: AnnouncementStatus | None = None,
    category: AnnouncementCategory | None = None,
    include_read_only: bool = False,
) -> sa.Select[tuple[Announcement]]:
    """What the staff member manages, newest first; with `include_read_only` also what they may only
    view (`viewable_by`), as the admin's list shows them."""
    query = (
        sa.select(Announcement)
        .options(selectinload(Announcement.groups), joinedload(Announcement.author))
        .where(viewable_by(staff) if include_read_only else manageable_by(staff))
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
    )
    if status is not None:
        query = query.where(Announcement.status == status)
    if category is not None:
        query = query.where(Announcement.category == category)
    return query


def announcement_for_staff(announcement_id: int, staff: Staff) -> Announcement:
    """An announcement the staff member manages; anything else is answered like a missing id."""
    announcement = db.session.get(Announcement, announcement_id)
    if announcement is None or not announcement.can_manage(staff):
        raise NotFound()
    return announcement


def announcement_for_viewer(announcement_id: int, staff: Staff) -> Announcement:
    """An announcement the staff member may open (`Announcement.can_view`), read-only or not."""
    announcement = db.session.get(Announcement, announcement_id)
    if announcement is None or not announcement.can_view(staff):
        raise NotFound()
    return announcement


def figures_scope(announcement: Announcement, staff: Staff) -> Group | None:
    """Whose figures the staff member sees: every recipient's when they manage the announcement (None),
    else only those of the recipients who were in their scope when it was published."""
    return None if announcement.can_manage(staff) else staff.scope
