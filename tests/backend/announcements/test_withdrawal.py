"""Withdrawal keeps its promise: the inbox shows the messages as withdrawn, and pushes still waiting go."""

from __future__ import annotations

import sqlalchemy as sa

from backend.announcements.models import Announcement
from backend.audit.models import AuditLog
from backend.db import utcnow
from backend.extensions import db
from backend.notifications.delivery import drain
from backend.notifications.models import DeliveryState, Notification
from backend.wechat.gateway import gateway
from tests.factories import act, bound_member, grant, make_announcement, make_member, send_notice


def _messages(app, announcement_id):
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Notification)
            .where(Notification.dedupe_key.startswith(f"announcement:{announcement_id}:"))
            .order_by(Notification.id)
        ).all()
        for notification in rows:
            db.session.expunge(notification)
        return rows


def _withdraw(app, announcement_id, staff_id):
    from backend.announcements.operations import withdraw
    from backend.db import unit_of_work
    from backend.staff.models import Staff

    with app.app_context(), unit_of_work():
        return withdraw(db.session.get(Announcement, announcement_id), staff=db.session.get(Staff, staff_id))


def test_withdraw_marks_every_message_of_the_announcement_and_counts_the_inboxes(app, union, root_officer):
    members = [make_member(app, union.group_a) for _ in range(3)]
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a])
    act(app, announcement_id, "remind_unread", root_officer)  # a second message each: still 3 inboxes
    other = make_announcement(app, root_officer, group_ids=[union.group_a], title="另一条")
    unrelated = send_notice(app, members[0], key="activity:1:x", kind="activity")

    withdrawal = _withdraw(app, announcement_id, root_officer)

    assert withdrawal.inboxes == 3
    messages = _messages(app, announcement_id)
    assert len(messages) == 6 and all(m.withdrawn_at is not None for m in messages)
    assert all(m.shown_body == "该公告已撤回" and m.body for m in messages)  # hidden, not destroyed
    assert all(m.withdrawn_at is None for m in _messages(app, other))
    with app.app_context():
        assert db.session.get(Notification, unrelated).withdrawn_at is None
        audit = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == "announcement.withdraw")
        ).one()
        assert audit.detail["inboxes"] == 3


def test_a_push_still_waiting_when_the_announcement_is_withdrawn_is_never_sent(
    app, client, emu, union, root_officer
):
    member_id, _ = bound_member(app, client, emu, union.group_a)
    grant(app, emu, member_id, wechat=1)
    with app.app_context():
        gateway.access_token(force_refresh=True)
    # WeChat is busy: the publication's push goes back to pending, to be retried later.
    emu.fault("cgi-bin/message/subscribe/send", errcode=-1, times=3)
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a])
    [message] = _messages(app, announcement_id)
    assert message.wechat_state == DeliveryState.pending

    _withdraw(app, announcement_id, root_officer)
    with app.app_context():
        db.session.execute(sa.update(Notification).values(next_attempt_at=utcnow()))
        db.session.commit()
        drain()

    [message] = _messages(app, announcement_id)
    assert message.wechat_state == DeliveryState.skipped and message.last_error_code == "withdrawn"
    assert emu.stats()["send_count"] == 0


def test_a_message_already_sent_keeps_its_delivery_state(app, client, emu, union, root_officer):
    member_id, _ = bound_member(app, client, emu, union.group_a)
    grant(app, emu, member_id, wechat=1)
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a])
    assert _messages(app, announcement_id)[0].wechat_state == DeliveryState.sent

    _withdraw(app, announcement_id, root_officer)
    [message] = _messages(app, announcement_id)
    assert message.wechat_state == DeliveryState.sent and message.withdrawn_at is not None
