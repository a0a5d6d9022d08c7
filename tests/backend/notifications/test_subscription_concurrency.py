"""The client's report and WeChat's push of one tap at the same moment still count once; so does a push
WeChat repeats while the first copy is still being applied (PostgreSQL: real concurrent transactions).

SQLite serialises writers with a database-wide lock, so these races cannot happen there (and cannot be
staged): the tests skip on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import WechatAccount
from backend.notifications.models import GrantSource, HandledPush, SubscriptionGrant
from backend.notifications.operations import add_credits
from backend.notifications.subscriptions import first_delivery, record_accept
from backend.wechat.callback import handle_event
from tests.backend.wechat.pushes import TOKEN, popup, push
from tests.concurrency import WAIT, Held, Runner, backend_pid, someone_waits_for
from tests.conftest import requires_postgres
from tests.factories import ANNOUNCEMENT_TEMPLATE, count, our_credit, wechat_account


def _accept(account_id: int, source: GrantSource) -> Callable[[], bool]:
    def work() -> bool:
        return record_accept(db.session.get(WechatAccount, account_id), ANNOUNCEMENT_TEMPLATE, source=source)

    return work


@requires_postgres
@pytest.mark.parametrize("had_credit", [0, 1], ids=["first_credit_row", "existing_credit_row"])
def test_client_report_and_push_of_one_tap_at_once_count_once(app, client, emu, had_credit):
    account_id = wechat_account(app, client, emu, "wx-race")
    if had_credit:
        with app.app_context(), unit_of_work():
            add_credits(db.session.get(WechatAccount, account_id), ANNOUNCEMENT_TEMPLATE, had_credit)
    accept = _accept(account_id, GrantSource.client)
    reported = Held(app, lambda: (accept(), backend_pid()))
    reported.start()
    assert reported.done.wait(WAIT)
    pushed = Runner(app, _accept(account_id, GrantSource.push))
    try:
        pushed.start()
        # The push waits on the credit row the client's report holds, then sees that report's grant.
        assert someone_waits_for(app, reported.result[1]), "the push did not wait for the client's report"
    finally:
        reported.release.set()
        reported.join(WAIT)
        pushed.join(WAIT)
    assert reported.error is None and pushed.error is None, (reported.error, pushed.error)
    assert (reported.result[0], pushed.result) == (True, False)
    assert our_credit(app, account_id=account_id) == had_credit + 1
    with app.app_context():
        grants = db.session.scalars(sa.select(SubscriptionGrant)).all()
        assert sorted(g.paired_with_id for g in grants) == sorted(g.id for g in grants)


@requires_postgres
def test_a_report_waits_for_another_report_of_the_template_even_one_that_added_no_credit(app, client, emu):
    # The lock is taken before the partner lookup, whatever the first report then does: here it pairs
    # (so it never touches the credit count), and the next report must still wait to see its grant.
    account_id = wechat_account(app, client, emu, "wx-lock")
    with app.app_context(), unit_of_work():
        assert _accept(account_id, GrantSource.push)() is True  # an earlier tap's push, unpaired
    accept = _accept(account_id, GrantSource.client)
    paired = Held(app, lambda: (accept(), backend_pid()))
    paired.start()
    assert paired.done.wait(WAIT)
    pushed = Runner(app, _accept(account_id, GrantSource.push))
    try:
        pushed.start()
        assert someone_waits_for(app, paired.result[1]), "the push did not wait for the client's report"
    finally:
        paired.release.set()
        paired.join(WAIT)
        pushed.join(WAIT)
    assert paired.error is None and pushed.error is None, (paired.error, pushed.error)
    # The client's report paired with the earlier push; the new push is another tap's: one more credit.
    assert (paired.result[0], pushed.result) == (False, True)
    assert our_credit(app, account_id=account_id) == 2


@requires_postgres
def test_a_push_repeated_while_the_first_copy_is_applied_is_applied_once(app, client, emu, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_TOKEN", TOKEN)
    account_id = wechat_account(app, client, emu, "wx-repeat")
    message = popup("wx-repeat", ANNOUNCEMENT_TEMPLATE)

    def apply_first_copy() -> tuple[bool, int]:
        handled = first_delivery(message)
        handle_event(message)
        return handled, backend_pid()

    first = Held(app, apply_first_copy)  # what the web process that got the first copy does
    first.start()
    assert first.done.wait(WAIT)
    repeat = Runner(app, lambda: push(app.test_client(), message))  # another web process gets the repeat
    try:
        repeat.start()
        assert someone_waits_for(app, first.result[1]), "the repeat did not wait for the first copy"
    finally:
        first.release.set()
        first.join(WAIT)
        repeat.join(WAIT)
    assert first.error is None and repeat.error is None, (first.error, repeat.error)
    assert first.result[0] is True
    assert repeat.result.status_code == 200 and repeat.result.get_data(as_text=True) == "success"
    assert our_credit(app, account_id=account_id) == 1
    assert count(app, SubscriptionGrant) == 1 and count(app, HandledPush) == 1
