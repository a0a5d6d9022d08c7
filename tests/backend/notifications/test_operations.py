"""The ledger: notify / notify_many idempotency, commit-then-dispatch, inbox reads, credits."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.db import unit_of_work
from backend.errors import NotFound, ValidationFailed
from backend.extensions import db
from backend.members.models import Member, WechatAccount
from backend.notifications.inbox import mark_all_read, mark_read
from backend.notifications.models import DeliveryState, Notification
from backend.notifications.operations import (
    notification_ids_for,
    notify,
    notify_many,
    record_subscriptions,
)
from backend.notifications.queries import credits_for, unread_count
from tests.backend.notifications.helpers import row
from tests.factories import (
    ANNOUNCEMENT_TEMPLATE,
    bound_member,
    count,
    grant,
    make_member,
    make_union,
    send_notice,
)


def test_notify_is_idempotent_per_dedupe_key(app, client, emu):
    union = make_union(app)
    member_id, _ = bound_member(app, client, emu, union.group_a)
    grant(app, emu, member_id, wechat=5)
    first = send_notice(app, member_id, key="application:7:approved")
    second = send_notice(app, member_id, key="application:7:approved", title="别的标题")
    assert first == second
    assert count(app, Notification) == 1
    assert row(app, first).title == "关于开展职工运动会的通知"
    assert emu.stats()["send_count"] == 1


def test_nothing_is_sent_before_commit_and_nothing_after_rollback(app, client, emu):
    union = make_union(app)
    member_id, _ = bound_member(app, client, emu, union.group_a)
    grant(app, emu, member_id, wechat=5)
    with app.app_context():
        with pytest.raises(RuntimeError), unit_of_work():
            notify(
                db.session.get(Member, member_id),
                kind="care",
                title="慰问",
                body="",
                link=None,
                dedupe_key="care:1",
            )
            raise RuntimeError("the change that caused the notice failed")
        assert count(app, Notification) == 0
        with unit_of_work():
            notify(
                db.session.get(Member, member_id),
                kind="announcement",
                title="通知",
                body="",
                link=None,
                dedupe_key="n:1",
            )
            assert emu.stats()["send_count"] == 0  # written, not yet committed: not sent
        assert emu.stats()["send_count"] == 1


def test_member_without_wechat_or_with_push_off_is_skipped_but_has_the_inbox_copy(app, client, emu):
    union = make_union(app)
    unbound_id = make_member(app, union.group_a)
    bound_id, _ = bound_member(app, client, emu, union.group_a)
    grant(app, emu, bound_id, wechat=1)
    a = send_notice(app, unbound_id, key="a")
    b = send_notice(app, bound_id, key="b", push=False)
    assert row(app, a).wechat_state == DeliveryState.skipped
    assert row(app, a).last_error_code == "no_wechat_account"
    assert row(app, b).wechat_state == DeliveryState.skipped
    assert row(app, b).last_error_code == "push_off"
    assert emu.stats()["send_count"] == 0


def test_unknown_kind_is_a_programming_error(app):
    union = make_union(app)
    member_id = make_member(app, union.group_a)
    with app.app_context(), pytest.raises(ValueError), unit_of_work():
        notify(
            db.session.get(Member, member_id), kind="gossip", title="x", body="", link=None, dedupe_key="k"
        )


def test_notify_many_inserts_once_per_member_and_delivers_after_commit(app, client, emu):
    union = make_union(app)
    bound = [bound_member(app, client, emu, union.group_a)[0] for _ in range(3)]
    unbound = [make_member(app, union.group_b) for _ in range(2)]
    for member_id in bound[:2]:
        grant(app, emu, member_id, wechat=1)
    everyone = bound + unbound
    with app.app_context():
        with unit_of_work():
            created = notify_many(
                everyone + everyone[:1],
                kind="announcement",
                title="全体会员大会通知",
                body="周五下午三点",
                link="pages/announcements/detail?id=9",
                dedupe_prefix="announcement:9",
            )
            assert created == 5
            assert emu.stats()["send_count"] == 0
        with unit_of_work():
            again = notify_many(
                everyone,
                kind="announcement",
                title="全体会员大会通知",
                body="周五下午三点",
                link=None,
                dedupe_prefix="announcement:9",
            )
        assert again == 0
        ids = notification_ids_for("announcement:9")
        assert set(ids) == set(everyone)
        states = dict(db.session.execute(sa.select(Notification.member_id, Notification.wechat_state)).all())
    assert [states[m] for m in bound] == [DeliveryState.sent, DeliveryState.sent, DeliveryState.no_credit]
    assert {states[m] for m in unbound} == {DeliveryState.skipped}
    assert emu.stats()["send_count"] == 2


def test_notification_ids_for_does_not_match_a_longer_prefix(app):
    union = make_union(app)
    member_id = make_member(app, union.group_a)
    with app.app_context():
        with unit_of_work():
            for prefix in ("announcement:1", "announcement:11", "announcement_1"):
                notify_many(
                    [member_id], kind="announcement", title="t", body="", link=None, dedupe_prefix=prefix
                )
        assert len(notification_ids_for("announcement:1")) == 1
        assert len(notification_ids_for("announcement%1")) == 0


def test_read_marks_and_unread_count(app, client, emu):
    union = make_union(app)
    member_id, _ = bound_member(app, client, emu, union.group_a)
    other_id, _ = bound_member(app, client, emu, union.group_a)
    ids = [send_notice(app, member_id, key=f"k{n}") for n in range(3)]
    foreign = send_notice(app, other_id, key="other")
    with app.app_context():
        account = db.session.get(Member, member_id).wechat_account
        assert unread_count(account) == 3
        with unit_of_work():
            mark_read(db.session.get(Notification, ids[0]), account=account)
        first_read = db.session.get(Notification, ids[0]).read_at
        assert unread_count(account) == 2
        with unit_of_work():
            mark_read(db.session.get(Notification, ids[0]), account=account)
        assert db.session.get(Notification, ids[0]).read_at == first_read
        with pytest.raises(NotFound), unit_of_work():
            mark_read(db.session.get(Notification, foreign), account=account)
        with unit_of_work():
            assert mark_all_read(account) == 2
        assert unread_count(account) == 0
        assert unread_count(db.session.get(Member, other_id).wechat_account) == 1


def test_record_subscriptions_counts_accepts_per_kind(app, client, emu):
    union = make_union(app)
    member_id, _ = bound_member(app, client, emu, union.group_a)
    activity_template = app.config["WECHAT_TEMPLATES"]["activity"]["template_id"]
    with app.app_context():
        account = db.session.scalar(sa.select(WechatAccount).where(WechatAccount.member_id == member_id))
        with unit_of_work():
            record_subscriptions(account, {ANNOUNCEMENT_TEMPLATE: "accept", activity_template: "reject"})
        with unit_of_work():
            credits = record_subscriptions(
                account, {ANNOUNCEMENT_TEMPLATE: "accept", activity_template: "ban"}
            )
        assert credits["announcement"] == 2 and credits["activity"] == 0
        assert set(credits) == set(app.config["WECHAT_TEMPLATES"])
        with pytest.raises(ValidationFailed) as raised, unit_of_work():
            record_subscriptions(account, {ANNOUNCEMENT_TEMPLATE: "accept", "tmpl_nobody_knows": "accept"})
        assert "results.tmpl_nobody_knows" in raised.value.errors
        assert credits_for(account)["announcement"] == 2  # the whole report was refused
