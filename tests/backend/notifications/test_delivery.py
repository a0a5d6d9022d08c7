"""Each WeChat answer to a subscribe send, against the emulator over HTTP (eager delivery, no Redis)."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import sqlalchemy as sa

from backend.config import DEMO_TEMPLATES
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.members.models import Member
from backend.notifications.delivery import WORKER_LOST, drain, sweep
from backend.notifications.models import DeliveryState, Notification
from backend.notifications.operations import notify, notify_many
from backend.wechat.gateway import gateway
from tests.backend.notifications.helpers import row, subscribe_calls
from tests.factories import (
    ANNOUNCEMENT_TEMPLATE,
    bound_member,
    grant,
    make_union,
    openid_of,
    our_credit,
    send_notice,
)


def _member(app, client, emu):
    union = make_union(app)
    member_id, _ = bound_member(app, client, emu, union.group_a)
    # A fresh emulator has forgotten the gateway's token: refresh it now, so that call counts are sends.
    with app.app_context():
        gateway.access_token(force_refresh=True)
    return member_id


def _make_due(app, notification_id):
    with app.app_context():
        db.session.execute(
            sa.update(Notification).where(Notification.id == notification_id).values(next_attempt_at=utcnow())
        )
        db.session.commit()


def _drain(app):
    with app.app_context():
        return drain()


def test_accepted_send_is_sent_and_spends_one_credit(app, client, emu):
    member_id = _member(app, client, emu)
    grant(app, emu, member_id, wechat=2)
    notification_id = send_notice(app, member_id, title="关于开展二〇二六年度职工趣味运动会报名工作的通知")

    notification = row(app, notification_id)
    assert notification.wechat_state == DeliveryState.sent and notification.sent_at is not None
    assert notification.attempts == 1
    assert our_credit(app, member_id) == 1
    sends = emu.stats()["sends"]
    assert len(sends) == 1
    send = sends[0]
    assert send["openid"] == openid_of(app, member_id) and send["template_id"] == ANNOUNCEMENT_TEMPLATE
    assert send["page"] == "pages/announcements/detail?id=5"
    assert len(send["data"]["thing1"]) <= 20 and send["data"]["thing1"].endswith("…")
    assert send["data"]["phrase2"] == "通知"
    assert send["miniprogram_state"] == app.config["WECHAT_MINIPROGRAM_STATE"]


def test_no_credit_in_ledger_never_calls_wechat(app, client, emu):
    member_id = _member(app, client, emu)
    grant(app, emu, member_id, wechat=1, ours=0)
    notification_id = send_notice(app, member_id)

    assert row(app, notification_id).wechat_state == DeliveryState.no_credit
    assert subscribe_calls(emu) == 0


def test_43101_is_no_credit_resets_ledger_and_is_not_retried(app, client, emu):
    member_id = _member(app, client, emu)
    grant(app, emu, member_id, wechat=0, ours=3)
    notification_id = send_notice(app, member_id)

    notification = row(app, notification_id)
    assert notification.wechat_state == DeliveryState.no_credit
    assert notification.last_error_code == "43101"
    assert our_credit(app, member_id) == 0
    calls = subscribe_calls(emu)
    _make_due(app, notification_id)
    _drain(app)
    assert subscribe_calls(emu) == calls


def test_bad_data_openid_and_template_fail_without_retry_and_keep_the_credit(app, client, emu):
    member_id = _member(app, client, emu)
    grant(app, emu, member_id, wechat=3)
    for n, errcode in enumerate((47003, 40003, 40037)):
        emu.fault("cgi-bin/message/subscribe/send", errcode=errcode, times=1)
        notification_id = send_notice(app, member_id, key=f"notice:{n}")
        notification = row(app, notification_id)
        assert notification.wechat_state == DeliveryState.failed, errcode
        assert notification.last_error_code == str(errcode)
        assert notification.attempts == 1
    assert our_credit(app, member_id) == 3
    assert emu.stats()["send_count"] == 0


def test_busy_and_rate_limit_go_back_to_pending_then_deliver(app, client, emu):
    member_id = _member(app, client, emu)
    grant(app, emu, member_id, wechat=1)
    # -1 three times: the gateway's own retries are used up, then the ledger backs off.
    emu.fault("cgi-bin/message/subscribe/send", errcode=-1, times=3)
    first = send_notice(app, member_id, key="notice:busy")
    notification = row(app, first)
    assert notification.wechat_state == DeliveryState.pending
    assert notification.last_error_code == "-1"
    assert notification.next_attempt_at > utcnow() + timedelta(seconds=10)
    assert our_credit(app, member_id) == 1  # given back: nothing was sent

    stats = _drain(app)  # not due yet
    assert stats.sent == 0 and row(app, first).wechat_state == DeliveryState.pending

    emu.fault("cgi-bin/message/subscribe/send", errcode=45011, times=1)
    _make_due(app, first)
    _drain(app)
    assert row(app, first).wechat_state == DeliveryState.pending
    assert row(app, first).last_error_code == "45011"

    _make_due(app, first)
    _drain(app)
    notification = row(app, first)
    assert notification.wechat_state == DeliveryState.sent and notification.attempts == 3
    assert emu.stats()["send_count"] == 1
    assert our_credit(app, member_id) == 0


def test_transient_failures_stop_at_max_attempts(app, client, emu):
    member_id = _member(app, client, emu)
    grant(app, emu, member_id, wechat=1)
    app.config["WECHAT_SEND_MAX_ATTEMPTS"] = 2
    try:
        emu.fault("cgi-bin/message/subscribe/send", errcode=45011)
        notification_id = send_notice(app, member_id)
        assert row(app, notification_id).wechat_state == DeliveryState.pending
        _make_due(app, notification_id)
        _drain(app)
    finally:
        app.config["WECHAT_SEND_MAX_ATTEMPTS"] = 6
    notification = row(app, notification_id)
    assert notification.wechat_state == DeliveryState.failed and notification.attempts == 2
    assert notification.last_error_code == "45011"
    assert our_credit(app, member_id) == 1


def test_a_timeout_may_have_delivered_so_it_is_never_resent(app, client, emu):
    member_id = _member(app, client, emu)
    grant(app, emu, member_id, wechat=2)
    # The emulator answers after our read timeout (2 s in tests) but does send the message.
    emu.fault("cgi-bin/message/subscribe/send", delay=2.5, times=1)
    notification_id = send_notice(app, member_id)

    notification = row(app, notification_id)
    assert notification.wechat_state == DeliveryState.failed
    assert notification.last_error_code == "outcome_unknown"
    deadline = time.monotonic() + 3
    while emu.stats()["send_count"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert emu.stats()["send_count"] == 1  # WeChat did deliver it, after we had given up waiting
    _make_due(app, notification_id)
    _drain(app)
    assert emu.stats()["send_count"] == 1


def test_expired_token_costs_one_refresh_and_the_message_goes(app, client, emu):
    member_id = _member(app, client, emu)
    grant(app, emu, member_id, wechat=1)
    emu.post("token/invalidate")
    notification_id = send_notice(app, member_id)
    assert row(app, notification_id).wechat_state == DeliveryState.sent


def test_a_row_left_sending_by_a_dead_worker_is_failed_not_resent(app, client, emu):
    member_id = _member(app, client, emu)
    grant(app, emu, member_id, wechat=1, ours=0)
    notification_id = send_notice(app, member_id, push=True)
    with app.app_context():
        db.session.execute(
            sa.update(Notification)
            .where(Notification.id == notification_id)
            .values(
                wechat_state=DeliveryState.sending, claimed_until=utcnow() - timedelta(seconds=1), attempts=1
            )
        )
        db.session.commit()
        assert sweep()["recovered"] == 1
    notification = row(app, notification_id)
    assert notification.wechat_state == DeliveryState.failed
    assert notification.last_error_code == WORKER_LOST
    assert subscribe_calls(emu) == 0


def test_a_row_claimed_by_another_worker_is_left_alone(app, client, emu):
    member_id = _member(app, client, emu)
    grant(app, emu, member_id, wechat=1)
    app.config["WECHAT_TEMPLATES"] = {}  # no template: notify() writes the row as skipped ...
    try:
        notification_id = send_notice(app, member_id)
    finally:
        app.config["WECHAT_TEMPLATES"] = json.loads(json.dumps(DEMO_TEMPLATES))
    with app.app_context():
        # ... which we turn into a pending row that another worker holds a live claim on.
        db.session.execute(
            sa.update(Notification)
            .where(Notification.id == notification_id)
            .values(wechat_state=DeliveryState.pending, claimed_until=utcnow() + timedelta(seconds=60))
        )
        db.session.commit()
    _drain(app)
    assert row(app, notification_id).wechat_state == DeliveryState.pending
    assert subscribe_calls(emu) == 0


def test_two_messages_to_one_member_in_one_batch_each_take_their_own_credit(app, client, emu):
    member_id = _member(app, client, emu)
    # WeChat would take both, but our ledger holds one credit: only one may go.
    grant(app, emu, member_id, wechat=2, ours=1)
    with app.app_context(), unit_of_work():
        member = db.session.get(Member, member_id)
        ids = [
            notify(
                member,
                kind="announcement",
                title=f"通知{n}",
                body="请查看",
                link=None,
                dedupe_key=f"pair:{n}",
            ).id
            for n in range(2)
        ]
    states = sorted(row(app, notification_id).wechat_state.value for notification_id in ids)
    assert states == ["no_credit", "sent"]
    assert emu.stats()["send_count"] == 1
    assert our_credit(app, member_id) == 0


def test_with_small_chunks_every_row_is_sent_once(app, client, emu):
    union = make_union(app)
    members = [bound_member(app, client, emu, union.group_a, openid=f"wx-chunk-{n}")[0] for n in range(5)]
    with app.app_context():
        gateway.access_token(force_refresh=True)
    for member_id in members:
        grant(app, emu, member_id, wechat=1)
    app.config["NOTIFICATIONS_SEND_CHUNK"] = 2
    try:
        with app.app_context(), unit_of_work():
            notify_many(
                members, kind="announcement", title="通知", body="请查看", link=None, dedupe_prefix="chunk"
            )
    finally:
        app.config["NOTIFICATIONS_SEND_CHUNK"] = 20
    with app.app_context():
        rows = db.session.execute(sa.select(Notification.wechat_state, Notification.attempts)).all()
    assert rows and all(state == DeliveryState.sent and attempts == 1 for state, attempts in rows)
    assert len(rows) == 5 and emu.stats()["send_count"] == 5


def test_an_eager_task_runs_in_the_app_that_queued_it_not_the_last_one_built(app, emulator, tmp_path_factory):
    """Tasks are bound to whichever app configured Celery first; run eagerly they must use the caller's."""
    from flask import current_app

    from backend import create_app
    from backend.extensions import celery
    from backend.jobs import configure_celery
    from tests.conftest import app_settings

    other = create_app(app_settings(emulator, tmp_path_factory, SQLALCHEMY_DATABASE_URI="sqlite://"))
    try:
        task = celery.Task()  # the task base that configure_celery(other) installed
        task.run = lambda: current_app._get_current_object()
        with app.app_context():
            assert task() is app
        with other.app_context():
            assert task() is other
    finally:
        configure_celery(celery, app)
