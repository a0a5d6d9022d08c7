"""Two visits recorded at the same moment that together break the festival per-person yearly cap: one is
refused (PostgreSQL, real concurrent transactions). The control test takes the lock away and shows both
would be written: the lock, not luck, keeps the cap. SQLite serialises writers, so these skip there."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from backend.care import policy as care_policy
from backend.care import visits as care_visits
from backend.care.models import CareCategory, CareVisit
from backend.care.policy import PolicyViolated
from backend.care.visits import record_visit
from backend.extensions import db
from backend.staff.models import Role, Staff
from tests.care_helpers import draft, policy
from tests.concurrency import WAIT, Held, Runner, backend_pid, someone_waits_for
from tests.conftest import requires_postgres
from tests.factories import make_member, make_staff


def _record(staff_id: int, member_id: int, festival: date):
    def work():
        staff = db.session.get(Staff, staff_id)
        made = draft(member_id, CareCategory.festival, yuan=1000, event_on=festival)
        visit = record_visit(made, staff=staff)
        return visit.id, backend_pid()

    return work


def _race(app, union):
    policy(app)  # festival cap ¥1,500 a person a year
    staff = make_staff(app, Role.officer, union.root)
    member = make_member(app, union.group_a)
    first = Held(app, _record(staff, member, date(2026, 2, 17)))  # 春节
    first.start()
    assert first.done.wait(WAIT) and first.error is None, first.error
    second = Runner(app, _record(staff, member, date(2026, 9, 25)))  # 中秋
    return first, second, member


def _finish(first, second):
    first.release.set()
    first.join(WAIT)
    second.join(WAIT)


@requires_postgres
def test_two_festival_visits_at_once_that_together_break_the_cap_one_is_refused(app, union):
    first, second, _member = _race(app, union)
    try:
        second.start()
        assert someone_waits_for(app, first.result[1]), "the second visit did not wait for the first"
    finally:
        _finish(first, second)
    assert first.error is None
    assert isinstance(second.error, PolicyViolated), second.error
    assert [v.code for v in second.error.violations] == ["over_festival_cap"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CareVisit.id))) == 1


@requires_postgres
def test_control_without_the_lock_both_visits_are_written(app, union, monkeypatch):
    monkeypatch.setattr(
        care_visits, "lock_for_visit", lambda member, day, event_on: care_policy.ensure_year(day.year)
    )
    first, second, _member = _race(app, union)
    try:
        second.start()
        second.join(WAIT)  # nothing to wait for: it runs to its end while the first is still open
        assert not second.is_alive()
    finally:
        _finish(first, second)
    assert first.error is None and second.error is None, second.error
    with app.app_context():
        total = db.session.scalar(sa.select(sa.func.sum(CareVisit.amount_fen)))
        assert total == 200000  # ¥2,000 > the ¥1,500 cap: what the lock prevents
