"""Subscribe grants: pairing the client's report of a tap with WeChat's push, push keys, purging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import WechatAccount
from backend.notifications.models import GrantSource, HandledPush, SubscriptionGrant
from backend.notifications.operations import set_credit
from backend.notifications.subscriptions import (
    first_delivery,
    purge_subscription_records,
    record_accept,
    record_accepts,
)
from tests.factories import ANNOUNCEMENT_TEMPLATE, count, our_credit, wechat_account

T0 = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
CLIENT, PUSH = GrantSource.client, GrantSource.push


@pytest.fixture
def account_id(app, client, emu) -> int:
    return wechat_account(app, client, emu, "wx-grants")


def accept(app, account_id: int, source: GrantSource, at: datetime, template: str = ANNOUNCEMENT_TEMPLATE):
    """record_accept in its own transaction; True when it added a credit."""
    with app.app_context(), unit_of_work():
        return record_accept(db.session.get(WechatAccount, account_id), template, source=source, now=at)


def test_reports_pair_within_the_window_and_not_beyond(app, account_id):
    window = timedelta(seconds=app.config["SUBSCRIBE_PAIRING_WINDOW"])
    assert window == timedelta(minutes=10)  # the default
    assert accept(app, account_id, CLIENT, T0) is True
    assert accept(app, account_id, PUSH, T0 + window) is False  # the same tap, on the edge of the window
    later = T0 + timedelta(minutes=20)
    assert accept(app, account_id, CLIENT, later) is True
    assert accept(app, account_id, PUSH, later + window + timedelta(seconds=1)) is True  # too late to pair
    assert our_credit(app, account_id=account_id) == 3


def test_the_window_comes_from_the_config(app, account_id, monkeypatch):
    monkeypatch.setitem(app.config, "SUBSCRIBE_PAIRING_WINDOW", 60)
    assert accept(app, account_id, PUSH, T0) is True
    assert accept(app, account_id, CLIENT, T0 + timedelta(seconds=61)) is True
    assert our_credit(app, account_id=account_id) == 2


def test_reports_from_the_same_source_never_pair(app, account_id):
    assert [accept(app, account_id, CLIENT, T0 + timedelta(seconds=n)) for n in range(2)] == [True, True]
    assert [accept(app, account_id, PUSH, T0 + timedelta(seconds=n)) for n in (2, 3, 4)] == [
        False,
        False,
        True,
    ]
    assert our_credit(app, account_id=account_id) == 3


def test_pairing_is_per_template_and_per_account(app, client, emu, account_id):
    activity = app.config["WECHAT_TEMPLATES"]["activity"]["template_id"]
    other_id = wechat_account(app, client, emu, "wx-other")
    assert accept(app, account_id, CLIENT, T0) is True
    assert accept(app, account_id, PUSH, T0, template=activity) is True
    assert accept(app, other_id, PUSH, T0) is True
    assert (
        our_credit(app, account_id=account_id) == 1
        and our_credit(app, account_id=account_id, template_id=activity) == 1
        and our_credit(app, account_id=other_id) == 1
    )


def test_a_report_pairs_with_the_oldest_unpaired_report_of_the_other_source(app, account_id):
    accept(app, account_id, CLIENT, T0)
    accept(app, account_id, CLIENT, T0 + timedelta(minutes=1))
    accept(app, account_id, PUSH, T0 + timedelta(minutes=2))
    with app.app_context():
        grants = db.session.scalars(sa.select(SubscriptionGrant).order_by(SubscriptionGrant.id)).all()
        first, second, pushed = grants
        assert (first.paired_with_id, second.paired_with_id, pushed.paired_with_id) == (
            pushed.id,
            None,
            first.id,
        )
        assert pushed.source == GrantSource.push and pushed.received_at == T0 + timedelta(minutes=2)


def test_a_reject_after_the_client_report_stays_at_zero_when_the_push_comes(app, account_id):
    accept(app, account_id, CLIENT, T0)
    with app.app_context(), unit_of_work():
        set_credit(db.session.get(WechatAccount, account_id), ANNOUNCEMENT_TEMPLATE, 0)
    assert accept(app, account_id, PUSH, T0 + timedelta(seconds=5)) is False
    assert our_credit(app, account_id=account_id) == 0


def test_templates_are_locked_in_one_order_whatever_order_they_are_reported_in(app, account_id):
    # Two reports of the same tap (client: {care, activity}, push: [activity, care]) lock the same rows;
    # taken in one order they cannot deadlock each other on PostgreSQL.
    templates = app.config["WECHAT_TEMPLATES"]
    reported = [templates["care"]["template_id"], templates["activity"]["template_id"]]
    with app.app_context():
        with unit_of_work():
            account = db.session.get(WechatAccount, account_id)
            assert record_accepts(account, reported, source=CLIENT, now=T0) == 2
        in_order = db.session.scalars(sa.select(SubscriptionGrant.template_id).order_by(SubscriptionGrant.id))
        assert list(in_order) == sorted(reported)


# --- pushes already handled -----------------------------------------------------------------------------


def test_a_push_whose_handling_rolled_back_is_handled_when_repeated(app):
    message = {"FromUserName": "wx-a", "CreateTime": 1, "Event": "subscribe_msg_popup_event", "List": []}
    with app.app_context():
        with pytest.raises(RuntimeError), unit_of_work():
            assert first_delivery(message) is True
            raise RuntimeError("applying the push failed")
        with unit_of_work():
            assert first_delivery(message) is True
        with unit_of_work():
            assert first_delivery(message) is False
            assert first_delivery({**message, "CreateTime": 2}) is True
        assert db.session.scalars(sa.select(HandledPush.event)).all() == ["subscribe_msg_popup_event"] * 2


# --- purging --------------------------------------------------------------------------------------------


def test_purge_deletes_grants_and_push_keys_past_their_retention(app, account_id):
    now = T0 + timedelta(days=30)
    accept(app, account_id, CLIENT, now - timedelta(days=8))
    accept(app, account_id, PUSH, now - timedelta(days=8))
    accept(app, account_id, CLIENT, now - timedelta(days=6))
    with app.app_context():
        with unit_of_work():
            first_delivery({"CreateTime": 1}, now=now - timedelta(days=8))
            first_delivery({"CreateTime": 2}, now=now - timedelta(days=6))
        with unit_of_work():
            assert purge_subscription_records(now=now) == {"grants": 2, "pushes": 1}  # 7 days by default
        with unit_of_work():
            assert purge_subscription_records(older_than=timedelta(days=5), now=now) == {
                "grants": 1,
                "pushes": 1,
            }
    assert count(app, SubscriptionGrant) == 0 and count(app, HandledPush) == 0
    assert our_credit(app, account_id=account_id) == 2  # credits are not grants: purging leaves them alone


def test_purge_never_deletes_what_pairing_or_wechats_retries_still_need(app, account_id):
    now = T0 + timedelta(days=30)
    accept(app, account_id, CLIENT, now - timedelta(minutes=9))
    message = {"FromUserName": "wx-grants", "CreateTime": 5, "Event": "x"}
    with app.app_context():
        with unit_of_work():
            first_delivery(message, now=now - timedelta(hours=20))
        with unit_of_work():
            assert purge_subscription_records(older_than=timedelta(0), now=now) == {"grants": 0, "pushes": 0}
        with unit_of_work():
            assert first_delivery(message) is False
    assert accept(app, account_id, PUSH, now) is False  # still pairs with the report 9 minutes earlier
    assert our_credit(app, account_id=account_id) == 1


def test_purge_keeps_grants_a_long_pairing_window_still_needs(app, account_id, monkeypatch):
    monkeypatch.setitem(app.config, "SUBSCRIBE_PAIRING_WINDOW", 2 * 24 * 3600)
    now = T0 + timedelta(days=30)
    accept(app, account_id, CLIENT, now - timedelta(hours=36))
    with app.app_context(), unit_of_work():
        assert purge_subscription_records(older_than=timedelta(days=1), now=now)["grants"] == 0
    assert accept(app, account_id, PUSH, now) is False
