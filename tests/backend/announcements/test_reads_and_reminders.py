"""First reads (recipient row and inbox message) and the once-a-day reminder of the unread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from backend.announcements.figures import figures_by_group
from backend.announcements.models import Announcement, AnnouncementRecipient
from backend.announcements.reading import record_read
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Member, MemberStatus
from backend.members.operations import set_member_status
from backend.notifications.models import Notification
from tests.backend.announcements.helpers import notifications_for
from tests.factories import act, make_announcement, make_member

T0 = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _read(app, announcement_id, member_id, now):
    with app.app_context(), unit_of_work():
        return record_read(
            db.session.get(Announcement, announcement_id), member=db.session.get(Member, member_id), now=now
        )


def _recipient(app, announcement_id, member_id):
    with app.app_context():
        return db.session.scalars(
            sa.select(AnnouncementRecipient).where(
                AnnouncementRecipient.announcement_id == announcement_id,
                AnnouncementRecipient.member_id == member_id,
            )
        ).one()


def _message_read_at(app, key):
    with app.app_context():
        return db.session.scalar(sa.select(Notification.read_at).where(Notification.dedupe_key == key))


def test_first_read_is_recorded_once_on_recipient_and_inbox_message(app, union, root_officer):
    member = make_member(app, union.group_a)
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a])
    key = f"announcement:{announcement_id}:{member}"

    assert _read(app, announcement_id, member, T0) is True
    assert _read(app, announcement_id, member, T0 + timedelta(hours=1)) is False

    assert _recipient(app, announcement_id, member).read_at == T0
    assert _message_read_at(app, key) == T0


def test_reading_an_announcement_marks_its_reminders_read_too(app, union, root_officer):
    member = make_member(app, union.group_a)
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a])
    act(app, announcement_id, "remind_unread", root_officer, now=T0)
    _read(app, announcement_id, member, T0 + timedelta(minutes=5))
    with app.app_context():
        unread = db.session.scalar(
            sa.select(sa.func.count()).select_from(Notification).where(Notification.read_at.is_(None))
        )
    assert unread == 0


def test_a_late_joiners_read_is_kept_outside_the_snapshot(app, union, root_officer):
    make_member(app, union.group_a)
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a])
    late = make_member(app, union.group_a)

    assert _read(app, announcement_id, late, T0) is True
    assert _read(app, announcement_id, late, T0) is False
    row = _recipient(app, announcement_id, late)
    assert row.in_snapshot is False and row.read_at == T0
    with app.app_context():
        _, total = figures_by_group(db.session.get(Announcement, announcement_id))
    assert (total.recipients, total.read) == (1, 0)


def test_remind_unread_reaches_only_active_unread_recipients(app, union, root_officer):
    unread = make_member(app, union.group_a)
    read = make_member(app, union.group_a)
    gone = make_member(app, union.group_a)
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a])
    _read(app, announcement_id, read, T0)
    with app.app_context(), unit_of_work():
        set_member_status(db.session.get(Member, gone), MemberStatus.left, staff=None)

    assert act(app, announcement_id, "remind_unread", root_officer, now=T0) == 1
    reminders = [m for m, key in notifications_for(app, announcement_id) if ":remind:" in key]
    assert reminders == [unread]
    assert f"announcement:{announcement_id}:remind:2026-11-21:{unread}" in {
        key for _, key in notifications_for(app, announcement_id)
    }
    assert _recipient(app, announcement_id, unread).last_reminded_at == T0


def test_remind_unread_at_most_once_per_shanghai_day(app, union, root_officer):
    member = make_member(app, union.group_a)
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a])
    late_evening = datetime(2026, 11, 21, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    after_midnight = datetime(2026, 11, 21, 16, 30, tzinfo=UTC)  # 00:30 next day in Shanghai (same UTC day)

    assert act(app, announcement_id, "remind_unread", root_officer, now=T0) == 1
    assert act(app, announcement_id, "remind_unread", root_officer, now=late_evening) == 0
    assert act(app, announcement_id, "remind_unread", root_officer, now=after_midnight) == 1
    assert act(app, announcement_id, "remind_unread", root_officer, now=after_midnight) == 0

    reminder_keys = sorted(key for m, key in notifications_for(app, announcement_id) if ":remind:" in key)
    assert reminder_keys == [
        f"announcement:{announcement_id}:remind:2026-11-21:{member}",
        f"announcement:{announcement_id}:remind:2026-11-22:{member}",
    ]
