"""Delivery and read figures, per group and per announcement, from recipients joined to notifications."""

from __future__ import annotations

import sqlalchemy as sa

from backend.announcements.figures import figures_by_announcement, figures_by_group, unread_recipients
from backend.announcements.models import Announcement
from backend.announcements.reading import record_read
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.members.models import Member
from backend.notifications.models import DeliveryState, Notification
from tests.factories import make_announcement, make_member


def _set_state(app, announcement_id, member_id, state):
    with app.app_context(), unit_of_work():
        values = {"wechat_state": state}
        if state == DeliveryState.sent:
            values["sent_at"] = utcnow()
        if state == DeliveryState.sending:
            values["claimed_until"] = utcnow()
        db.session.execute(
            sa.update(Notification)
            .where(Notification.dedupe_key == f"announcement:{announcement_id}:{member_id}")
            .values(**values)
        )


def _read(app, announcement_id, member_id):
    with app.app_context(), unit_of_work():
        record_read(db.session.get(Announcement, announcement_id), member=db.session.get(Member, member_id))


def _build(app, union, staff_id):
    a = [make_member(app, union.group_a) for _ in range(4)]
    b = [make_member(app, union.group_b) for _ in range(2)]
    announcement_id = make_announcement(app, staff_id, whole_union=True)
    for member, state in zip(a, [DeliveryState.sent, DeliveryState.sent, DeliveryState.no_credit,
                                 DeliveryState.failed], strict=True):  # fmt: skip
        _set_state(app, announcement_id, member, state)
    _set_state(app, announcement_id, b[0], DeliveryState.sending)
    _read(app, announcement_id, a[0])
    _read(app, announcement_id, a[2])
    _read(app, announcement_id, b[1])
    return announcement_id, a, b


def test_figures_per_group_and_total(app, union, root_officer):
    announcement_id, _, _ = _build(app, union, root_officer)
    with app.app_context():
        rows, total = figures_by_group(db.session.get(Announcement, announcement_id))
        by_group = {row.group_id: row.figures for row in rows}

    group_a, group_b = by_group[union.group_a], by_group[union.group_b]
    assert (group_a.recipients, group_a.sent, group_a.no_credit, group_a.failed, group_a.read) == (
        4,
        2,
        1,
        1,
        2,
    )
    assert group_a.read_rate == 0.5 and group_a.read_percent == "50.0%"
    assert (group_b.recipients, group_b.pending, group_b.skipped, group_b.read) == (2, 1, 1, 1)
    assert (total.recipients, total.sent, total.no_credit, total.failed, total.read) == (6, 2, 1, 1, 3)


def test_reminders_do_not_count_as_deliveries(app, union, root_officer):
    from tests.factories import act

    announcement_id, _, _ = _build(app, union, root_officer)
    act(app, announcement_id, "remind_unread", root_officer)
    with app.app_context():
        _, total = figures_by_group(db.session.get(Announcement, announcement_id))
    assert total.recipients == 6 and total.sent == 2


def test_unread_list(app, union, root_officer):
    announcement_id, a, b = _build(app, union, root_officer)
    with app.app_context():
        rows = db.session.execute(unread_recipients(db.session.get(Announcement, announcement_id))).all()
    assert {row.id for row in rows} == {a[1], a[3], b[0]}
    states = {row.id: row.wechat_state for row in rows}
    assert states[a[3]] == DeliveryState.failed


def test_figures_for_many_announcements_in_one_query(app, union, root_officer):
    first, _, _ = _build(app, union, root_officer)
    second = make_announcement(app, root_officer, group_ids=[union.group_b])
    draft = make_announcement(app, root_officer, group_ids=[union.group_b], publish=False)

    statements = []
    with app.app_context():
        engine = db.engine

        def count_statement(*args):
            if args[2].lstrip().upper().startswith("SELECT"):
                statements.append(args[2])

        sa.event.listen(engine, "before_cursor_execute", count_statement)
        try:
            figures = figures_by_announcement([first, second, draft])
        finally:
            sa.event.remove(engine, "before_cursor_execute", count_statement)

    assert len(statements) == 1
    assert figures[first].recipients == 6 and figures[first].read == 3 and figures[first].sent == 2
    assert figures[second].recipients == 2 and figures[second].read == 0
    assert draft not in figures
