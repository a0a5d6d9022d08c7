"""Races on PostgreSQL: two final approvals of one application, two approvals on the last of the fund,
two payments that together exceed the grant. Each time one wins and the other is refused.

Each race has a control: the same race with the row locks taken away (`locked` made a plain SELECT,
the one place the hardship code takes them), where both succeed. That shows the lock, not luck or the
staging, is what makes the difference. SQLite serialises writers, so these skip there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from backend.errors import InvalidState
from backend.extensions import db
from backend.hardship import review, standards, timeline
from backend.hardship.models import HardshipApplication, HardshipEvent, HardshipPayment, Status
from backend.hardship.standards import granted_in, today
from tests.backend.hardship.helpers import Cast, pay
from tests.concurrency import WAIT, Held, Runner, lock_waiters_reach
from tests.conftest import requires_postgres
from tests.factories import count, get


@pytest.fixture
def without_locks(monkeypatch):
    """The control: every FOR UPDATE of the hardship code dropped."""
    for module in (timeline, standards):
        monkeypatch.setattr(module, "locked", lambda query: query)


def _race(app, first_work: Callable[[], Any], second_work: Callable[[], Any]) -> tuple[Runner, Runner]:
    """The first does its work and holds its transaction until the second waits for a lock; then both end."""
    first = Held(app, first_work)
    first.start()
    assert first.done.wait(WAIT)
    second = Runner(app, second_work)
    try:
        second.start()
        assert lock_waiters_reach(app, 1), "the second never waited for the first"
    finally:
        first.release.set()
        first.join(WAIT)
        second.join(WAIT)
    assert first.error is None, first.error
    return first, second


def _final(cast: Cast, application_id: int, staff_id: int, amount: int) -> Callable[[], Any]:
    return lambda: review.final_approve(application_id, staff=cast.staff(staff_id), amount_fen=amount).status


def _two_final_approvals(app, union):
    cast = Cast(app, union)
    application_id = cast.to("ended")  # type: ignore[arg-type]
    _, second = _race(
        app,
        _final(cast, application_id, cast.chair, 50_000),
        _final(cast, application_id, cast.chair2, 60_000),
    )
    approvals = count(app, HardshipEvent, HardshipEvent.to_status == "approved")
    return cast, application_id, second, approvals


@requires_postgres
def test_two_final_approvals_at_once_one_wins(app, union):
    _, application_id, second, approvals = _two_final_approvals(app, union)
    assert isinstance(second.error, InvalidState) and second.error.status == 409
    assert approvals == 1
    assert get(app, HardshipApplication, application_id).granted_amount_fen == 50_000
    with app.app_context():
        assert granted_in(today().year) == 50_000


@requires_postgres
def test_control_two_final_approvals_both_pass_without_the_lock(app, union, without_locks):
    _, _, second, approvals = _two_final_approvals(app, union)
    assert second.error is None and approvals == 2  # the double approval the lock prevents


def _overlapping(app, first_work: Callable[[], Any], second_work: Callable[[], Any]) -> tuple[Runner, Runner]:
    """The control's interleaving: the second runs to its commit while the first holds its transaction
    open (nothing makes it wait without the lock), then the first commits too."""
    first = Held(app, first_work)
    first.start()
    assert first.done.wait(WAIT)
    second = Runner(app, second_work)
    try:
        second.start()
        second.join(WAIT)
    finally:
        first.release.set()
        first.join(WAIT)
    assert first.error is None, first.error
    return first, second


def _last_of_the_fund(app, union, race=_race):
    cast = Cast(app, union, fund_fen=150_000)
    first_id = cast.to("ended")  # type: ignore[arg-type]
    second_id = cast.to("ended", member_id=cast.other_member)  # type: ignore[arg-type]
    _, second = race(
        app, _final(cast, first_id, cast.chair, 100_000), _final(cast, second_id, cast.chair, 100_000)
    )
    approved = count(app, HardshipApplication, HardshipApplication.status == Status.approved)
    return second, approved


@requires_postgres
def test_two_approvals_on_the_last_of_the_fund_one_passes(app, union):
    second, approved = _last_of_the_fund(app, union)
    assert isinstance(second.error, InvalidState) and second.error.code == "fund_exhausted"
    assert approved == 1


@requires_postgres
def test_control_both_approvals_spend_past_the_fund_without_the_lock(app, union, without_locks):
    second, approved = _last_of_the_fund(app, union, race=_overlapping)
    assert second.error is None and approved == 2  # 200,000 granted from a fund of 150,000


def _two_payments(app, union):
    cast = Cast(app, union)
    application_id = cast.to(Status.approved, amount=100_000)
    _, second = _race(
        app, lambda: pay(cast, application_id, 60_000).id, lambda: pay(cast, application_id, 60_000).id
    )
    with app.app_context():
        paid = db.session.scalar(sa.select(sa.func.sum(HardshipPayment.amount_fen)))
    return second, paid


@requires_postgres
def test_two_payments_exceeding_the_grant_one_passes(app, union):
    second, paid = _two_payments(app, union)
    assert isinstance(second.error, InvalidState) and second.error.code == "overpayment"
    assert paid == 60_000


@requires_postgres
def test_control_both_payments_pass_without_the_lock(app, union, without_locks):
    second, paid = _two_payments(app, union)
    assert second.error is None and paid == 120_000  # more paid than the 100,000 granted


@requires_postgres
def test_two_applications_at_once_make_one(app, union):
    """The partial unique index: one open application per member even when two creates race."""
    from backend.hardship.applicant import create_application
    from backend.members.models import Member
    from tests.backend.hardship.helpers import FIELDS

    cast = Cast(app, union)
    create = lambda: create_application(db.session.get(Member, cast.member), FIELDS).id  # noqa: E731
    _, second = _race(app, create, create)
    assert second.error is not None and second.error.code == "open_application_exists"
    assert today().year > 2000
