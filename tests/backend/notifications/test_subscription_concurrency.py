"""The client's report and WeChat's push of one tap at the same moment still count once; so does a push
WeChat repeats while the first copy is still being applied (PostgreSQL: real concurrent transactions).

SQLite serialises writers with a database-wide lock, so these races cannot happen there (and cannot be
staged): the tests skip on SQLite.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import WechatAccount
from backend.notifications.models import GrantSource, HandledPush, SubscriptionCredit, SubscriptionGrant
from backend.notifications.operations import add_credits
from backend.notifications.subscriptions import first_delivery, record_accept
from backend.wechat.callback import handle_event
from tests.backend.notifications.helpers import ANNOUNCEMENT_TEMPLATE
from tests.backend.wechat.pushes import TOKEN, popup, push
from tests.conftest import requires_postgres
from tests.factories import api_login, count

WAIT = 10


class Held(threading.Thread):
    """Runs ``work`` in its own transaction and keeps that transaction open until released."""

    def __init__(self, app, work: Callable[[], Any]):
        super().__init__(daemon=True)
        self.app, self.work = app, work
        self.done, self.release = threading.Event(), threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self):
        try:
            with self.app.app_context(), unit_of_work():
                self.result = self.work()
                self.done.set()
                self.release.wait(WAIT)
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc
        finally:
            self.done.set()


class Runner(threading.Thread):
    def __init__(self, app, work: Callable[[], Any]):
        super().__init__(daemon=True)
        self.app, self.work = app, work
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self):
        try:
            with self.app.app_context(), unit_of_work():
                self.result = self.work()
        except BaseException as exc:
            self.error = exc


def _backend_pid() -> int:
    return db.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()


def _waits_for(app, holder_pid: int) -> bool:
    """True once another session waits for a lock that the session ``holder_pid`` holds."""
    with app.app_context(), db.engine.connect() as connection:
        for _ in range(WAIT * 20):
            waiting = connection.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
                {"pid": holder_pid},
            ).scalar()
            if waiting:
                return True
            time.sleep(0.05)
    return False


def _account_id(app, client, emu, openid: str) -> int:
    api_login(client, emu, openid)
    with app.app_context():
        return db.session.scalar(sa.select(WechatAccount.id).where(WechatAccount.openid == openid))


def _accept(account_id: int, source: GrantSource) -> Callable[[], bool]:
    def work() -> bool:
        return record_accept(db.session.get(WechatAccount, account_id), ANNOUNCEMENT_TEMPLATE, source=source)

    return work


def _credit(app, account_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(SubscriptionCredit.count).where(SubscriptionCredit.wechat_account_id == account_id)
        )


@requires_postgres
@pytest.mark.parametrize("had_credit", [0, 1], ids=["first_credit_row", "existing_credit_row"])
def test_client_report_and_push_of_one_tap_at_once_count_once(app, client, emu, had_credit):
    account_id = _account_id(app, client, emu, "wx-race")
    if had_credit:
        with app.app_context(), unit_of_work():
            add_credits(db.session.get(WechatAccount, account_id), ANNOUNCEMENT_TEMPLATE, had_credit)
    accept = _accept(account_id, GrantSource.client)
    reported = Held(app, lambda: (accept(), _backend_pid()))
    reported.start()
    assert reported.done.wait(WAIT)
    pushed = Runner(app, _accept(account_id, GrantSource.push))
    try:
        pushed.start()
        # The push waits on the credit row the client's report holds, then sees that report's grant.
        assert _waits_for(app, reported.result[1]), "the push did not wait for the client's report"
    finally:
        reported.release.set()
        reported.join(WAIT)
        pushed.join(WAIT)
    assert reported.error is None and pushed.error is None, (reported.error, pushed.error)
    assert (reported.result[0], pushed.result) == (True, False)
    assert _credit(app, account_id) == had_credit + 1
    with app.app_context():
        grants = db.session.scalars(sa.select(SubscriptionGrant)).all()
        assert sorted(g.paired_with_id for g in grants) == sorted(g.id for g in grants)


@requires_postgres
def test_a_push_repeated_while_the_first_copy_is_applied_is_applied_once(app, client, emu, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_TOKEN", TOKEN)
    account_id = _account_id(app, client, emu, "wx-repeat")
    message = popup("wx-repeat", ANNOUNCEMENT_TEMPLATE)

    def apply_first_copy() -> tuple[bool, int]:
        handled = first_delivery(message)
        handle_event(message)
        return handled, _backend_pid()

    first = Held(app, apply_first_copy)  # what the web process that got the first copy does
    first.start()
    assert first.done.wait(WAIT)
    repeat = Runner(app, lambda: push(app.test_client(), message))  # another web process gets the repeat
    try:
        repeat.start()
        assert _waits_for(app, first.result[1]), "the repeat did not wait for the first copy"
    finally:
        first.release.set()
        first.join(WAIT)
        repeat.join(WAIT)
    assert first.error is None and repeat.error is None, (first.error, repeat.error)
    assert first.result[0] is True
    assert repeat.result.status_code == 200 and repeat.result.get_data(as_text=True) == "success"
    assert _credit(app, account_id) == 1
    assert count(app, SubscriptionGrant) == 1 and count(app, HandledPush) == 1
