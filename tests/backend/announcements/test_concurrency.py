"""Two publishers at once still make one publication (PostgreSQL: real concurrent transactions).

SQLite serialises writers with a database-wide lock, so these races cannot happen there (and cannot be
staged): the tests skip on SQLite.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.announcements.models import Announcement, AnnouncementStatus
from backend.announcements.operations import publish, publish_due
from backend.audit.models import AuditLog
from backend.extensions import db
from backend.staff.models import Staff
from tests.backend.announcements.helpers import notifications_for, recipient_ids
from tests.concurrency import WAIT, Held, Runner, lock_waiters_run
from tests.conftest import requires_postgres
from tests.factories import count, get, make_announcement, make_member

AT = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)


def _scheduled(app, union, staff_id):
    make_member(app, union.group_a)
    return make_announcement(
        app, staff_id, group_ids=[union.group_a], publish_at=AT, now=AT - timedelta(hours=1)
    )


def _publish_due_holding_its_transaction(app):
    """A worker's `publish_due` that has done its work and keeps its transaction open until released."""
    worker = Held(app, lambda: [a.id for a in publish_due(AT)])
    worker.start()
    assert worker.done.wait(WAIT)
    return worker


def _assert_published_once(app, announcement_id):
    assert get(app, Announcement, announcement_id).status == AnnouncementStatus.published
    assert len(recipient_ids(app, announcement_id)) == 1
    assert len(notifications_for(app, announcement_id)) == 1
    assert count(app, AuditLog, AuditLog.action == "announcement.publish") == 1


@requires_postgres
def test_two_publish_due_at_once_publish_once_and_the_second_does_not_wait(app, union, root_officer):
    announcement_id = _scheduled(app, union, root_officer)
    first = _publish_due_holding_its_transaction(app)
    second = Runner(app, lambda: [a.id for a in publish_due(AT)])
    try:
        second.start()
        # SKIP LOCKED: the second worker passes over the row the first holds instead of queueing on it.
        second.join(WAIT / 2)
        assert not second.is_alive(), "the second publish_due waited for the first one's lock"
    finally:
        first.release.set()
        first.join(WAIT)
        second.join(WAIT)
    assert first.error is None and second.error is None, (first.error, second.error)
    assert first.result == [announcement_id] and second.result == []
    _assert_published_once(app, announcement_id)


@requires_postgres
def test_publish_button_racing_the_scheduler_publishes_once(app, union, root_officer):
    announcement_id = _scheduled(app, union, root_officer)
    scheduler = _publish_due_holding_its_transaction(app)

    def press_publish():
        announcement = db.session.get(Announcement, announcement_id)
        assert announcement.status == AnnouncementStatus.scheduled  # the scheduler has not committed
        publish(announcement, staff=db.session.get(Staff, root_officer), now=AT + timedelta(seconds=1))
        return announcement.status

    button = Runner(app, press_publish)
    try:
        button.start()
        assert lock_waiters_run(app, "UPDATE announcements"), (
            "the button's UPDATE never waited on the scheduler's row lock"
        )
    finally:
        scheduler.release.set()
        scheduler.join(WAIT)
        button.join(WAIT)
    assert scheduler.error is None and button.error is None, (scheduler.error, button.error)
    assert button.result == AnnouncementStatus.published
    assert get(app, Announcement, announcement_id).published_at == AT
    _assert_published_once(app, announcement_id)
