"""The figures page's 未读会员 list: one page of `unread_recipients`, in a fixed number of queries."""

from __future__ import annotations

import sqlalchemy as sa

from backend.announcements.figures import unread_page, unread_recipients
from backend.announcements.models import Announcement
from backend.announcements.reading import record_read
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Member
from backend.notifications.models import DeliveryState, Notification
from tests.factories import make_announcement, make_member


def _published(app, union, staff_id, members):
    announcement_id = make_announcement(app, staff_id, whole_union=True)
    with app.app_context(), unit_of_work():
        db.session.execute(
            sa.update(Notification)
            .where(Notification.dedupe_key == f"announcement:{announcement_id}:{members[1]}")
            .values(wechat_state=DeliveryState.failed)
        )
        record_read(db.session.get(Announcement, announcement_id), member=db.session.get(Member, members[0]))
    return announcement_id


def _selects(app, run):
    statements: list[str] = []

    def count(*args):
        if args[2].lstrip().upper().startswith("SELECT"):
            statements.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = run()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return result, len(statements)


def test_unread_page_holds_the_rows_of_unread_recipients(app, union, root_officer):
    members = [make_member(app, union.group_a) for _ in range(3)] + [make_member(app, union.group_b)]
    announcement_id = _published(app, union, root_officer, members)
    with app.app_context():
        announcement = db.session.get(Announcement, announcement_id)
        expected = [tuple(row) for row in db.session.execute(unread_recipients(announcement))]
        first = unread_page(announcement, page=1, per_page=2)
        second = unread_page(announcement, page=2, per_page=2)
    rows = [
        (r.id, r.name, r.employee_no, r.group_name, r.wechat_state, r.last_reminded_at)
        for r in [*first.items, *second.items]
    ]
    assert rows == expected and len(rows) == 3
    assert first.total == 3 and first.pages == 2 and second.has_prev
    assert {row[0]: row[4] for row in rows}[members[1]] == DeliveryState.failed


def test_unread_page_takes_the_same_queries_whatever_its_size(app, union, root_officer):
    members = [make_member(app, union.group_a) for _ in range(6)]
    announcement_id = _published(app, union, root_officer, members)
    with app.app_context():
        announcement = db.session.get(Announcement, announcement_id)
        _, small = _selects(app, lambda: unread_page(announcement, page=1, per_page=1))
        page, large = _selects(app, lambda: unread_page(announcement, page=1, per_page=50))
    assert len(page.items) == 5
    assert small == large == 3
