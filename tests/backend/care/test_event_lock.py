"""One event visited twice at once, the two visits dated in two years (31 December and 2 January): the
same-event rule still refuses one (PostgreSQL, real concurrent transactions). The year's lock alone
orders only visits of one year; `lock_for_visit` also locks the event's year and the member. The
control test keeps only the visit year's lock and shows both visits written. The same for 限一次
(marriage) with no event date, where only the member's lock orders the two: its control keeps the
years' locks and drops the member's."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from backend.care import visits as care_visits
from backend.care.models import CareCategory, CareVisit
from backend.care.policy import PolicyViolated, lock_year
from backend.care.visits import record_visit
from backend.extensions import db
from backend.staff.models import Role, Staff
from tests.care_helpers import draft, policy
from tests.concurrency import WAIT, Held, Runner, backend_pid, someone_waits_for
from tests.conftest import requires_postgres
from tests.factories import make_member, make_staff

ADMITTED = date(2026, 12, 30)  # 住院: the event


def _record(staff_id: int, member_id: int, visited_on: date, category, event_on):
    def work():
        made = draft(member_id, category, yuan=500, visited_on=visited_on, event_on=event_on)
        return record_visit(made, staff=db.session.get(Staff, staff_id)).id, backend_pid()

    return work


def _race(app, union, category=CareCategory.hospitalization, event_on=ADMITTED):
    policy(app, year=2026)
    policy(app, year=2027)
    staff = make_staff(app, Role.officer, union.root)
    member = make_member(app, union.group_a)
    first = Held(app, _record(staff, member, date(2026, 12, 31), category, event_on))
    first.start()
    assert first.done.wait(WAIT) and first.error is None, first.error
    return first, Runner(app, _record(staff, member, date(2027, 1, 2), category, event_on))


def _finish(first, second):
    first.release.set()
    first.join(WAIT)
    second.join(WAIT)


def _visits(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(CareVisit.id)))


@requires_postgres
def test_one_event_visited_at_once_in_two_years_is_refused_once(app, union):
    first, second = _race(app, union)
    try:
        second.start()
        assert someone_waits_for(app, first.result[1]), "the second visit did not wait for the first"
    finally:
        _finish(first, second)
    assert first.error is None
    assert isinstance(second.error, PolicyViolated), second.error
    assert [v.code for v in second.error.violations] == ["same_event"]
    assert _visits(app) == 1


@requires_postgres
def test_control_with_only_the_visit_years_lock_both_are_written(app, union, monkeypatch):
    monkeypatch.setattr(
        care_visits, "lock_for_visit", lambda member, visited_on, event_on: lock_year(visited_on.year)
    )
    first, second = _race(app, union)
    try:
        second.start()
        second.join(WAIT)  # nothing to wait for: 2027's lock is free
        assert not second.is_alive()
    finally:
        _finish(first, second)
    assert first.error is None and second.error is None, second.error
    assert _visits(app) == 2  # one hospital stay visited twice: what the locks prevent


@requires_postgres
def test_two_once_only_visits_at_once_in_two_years_one_is_refused(app, union):
    first, second = _race(app, union, CareCategory.marriage, None)
    try:
        second.start()
        assert someone_waits_for(app, first.result[1]), "the second visit did not wait for the first"
    finally:
        _finish(first, second)
    assert isinstance(second.error, PolicyViolated), second.error
    assert [v.code for v in second.error.violations] == ["only_once"]
    assert _visits(app) == 1


@requires_postgres
def test_control_without_the_members_lock_both_once_only_visits_are_written(app, union, monkeypatch):
    def years_only(member, visited_on, event_on):
        for year in sorted({visited_on.year} | ({event_on.year} if event_on else set())):
            lock_year(year)

    monkeypatch.setattr(care_visits, "lock_for_visit", years_only)
    first, second = _race(app, union, CareCategory.marriage, None)
    try:
        second.start()
        second.join(WAIT)
        assert not second.is_alive()
    finally:
        _finish(first, second)
    assert first.error is None and second.error is None, second.error
    assert _visits(app) == 2  # 结婚慰问 twice: what the member's lock prevents
