"""What a member's reading of an announcement records, and the reminders to those who have not read it."""

from __future__ import annotations

from datetime import UTC, datetime, time

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.announcements.models import Announcement, AnnouncementRecipient
from backend.announcements.operations import (
    MEMBER_LINK,
    message_data,
    notification_prefix,
    require_state,
)
from backend.announcements.workflow import Action
from backend.audit.operations import record
from backend.db import SHANGHAI, utcnow
from backend.errors import NotFound
from backend.extensions import db
from backend.members.models import Group, Member, MemberStatus
from backend.notifications.models import Notification
from backend.notifications.operations import notify_many
from backend.staff.models import Staff


def _mark_messages_read(announcement: Announcement, member: Member, now: datetime) -> None:
    """The publication's inbox message (and any reminders) count as read once the announcement is."""
    db.session.execute(
        sa.update(Notification)
        .where(
            Notification.member_id == member.id,
            Notification.dedupe_key.startswith(notification_prefix(announcement.id) + ":"),
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )


def record_read(announcement: Announcement, *, member: Member, now: datetime | None = None) -> bool:
    """Records a member's first read; later reads change nothing. True when this call recorded it.

    A member who joined the audience after publication gets a row outside the snapshot, so their
    `read` flag works while the figures still describe who the announcement was sent to.
    """
    now = now or utcnow()
    updated = db.session.execute(
        sa.update(AnnouncementRecipient)
        .where(
            AnnouncementRecipient.announcement_id == announcement.id,
            AnnouncementRecipient.member_id == member.id,
            AnnouncementRecipient.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not updated:
        exists = db.session.scalar(
            sa.select(AnnouncementRecipient.id).where(
                AnnouncementRecipient.announcement_id == announcement.id,
                AnnouncementRecipient.member_id == member.id,
            )
        )
        if exists is not None:
            return False
        try:
            with db.session.begin_nested():
                db.session.add(
                    AnnouncementRecipient(
                        announcement_id=announcement.id,
                        member_id=member.id,
                        group_id=member.group_id,
                        in_snapshot=False,
                        read_at=now,
                    )
                )
        except IntegrityError:
            return False  # the same member's other request got there first
    _mark_messages_read(announcement, member, now)
    return True


def start_of_local_day(now: datetime) -> datetime:
    """Midnight in Asia/Shanghai of the day `now` falls in, as UTC."""
    local = now.astimezone(SHANGHAI)
    return datetime.combine(local.date(), time.min, tzinfo=SHANGHAI).astimezone(UTC)


def _reminder_scope(announcement: Announcement, staff: Staff) -> Group | None:
    """Whom the staff member may remind: every recipient of what they manage (None); of what they may
    only view (a union-wide announcement, for a branch officer), those who were in their scope when it
    was published, the same people the figures page shows them. Anything else is 404."""
    if announcement.can_manage(staff):
        return None
    if announcement.can_view(staff):
        return staff.scope
    raise NotFound()


def remind_unread(announcement: Announcement, *, staff: Staff, now: datetime | None = None) -> int:
    """Sends the unread recipients a reminder; each member at most once per day (Asia/Shanghai).

    The once-a-day rule is enforced by the UPDATE that claims the rows, so two clicks (or two staff)
    at the same moment still remind each member once. Returns how many members were reminded.
    """
    within = _reminder_scope(announcement, staff)
    require_state(announcement, Action.remind)
    now = now or utcnow()
    R = AnnouncementRecipient
    in_scope = (
        R.group_id.in_(sa.select(Group.id).where(Group.path.startswith(within.path)))
        if within is not None
        else sa.true()
    )
    claimed = db.session.execute(
        sa.update(R)
        .where(
            R.announcement_id == announcement.id,
            R.in_snapshot.is_(True),
            R.read_at.is_(None),
            sa.or_(R.last_reminded_at.is_(None), R.last_reminded_at < start_of_local_day(now)),
            R.member_id.in_(sa.select(Member.id).where(Member.status == MemberStatus.active)),
            in_scope,
        )
        .values(last_reminded_at=now)
        .returning(R.member_id)
        .execution_options(synchronize_session=False)
    )
    member_ids = sorted(claimed.scalars())
    if member_ids:
        day = now.astimezone(SHANGHAI).date().isoformat()
        notify_many(
            member_ids,
            kind="announcement",
            title=f"【提醒】{announcement.title}",
            body=announcement.summary,
            link=MEMBER_LINK.format(id=announcement.id),
            dedupe_prefix=f"{notification_prefix(announcement.id)}:remind:{day}",
            data={**message_data(announcement), "note": "您有一条公告尚未阅读"},
            push=announcement.push,
        )
    record(
        "announcement.remind",
        staff=staff,
        target=announcement,
        reminded=len(member_ids),
        within_group_id=within.id if within is not None else None,
    )
    return len(member_ids)
