"""run_campaign holds the year's lock like a visit does (PostgreSQL, real concurrent transactions): a
campaign run and a visit, or two campaigns, that together would take a member over the festival cap are
serialised and the later one keeps the cap. The control tests take run_campaign's lock away and show the
cap broken: the lock, not luck, keeps it. SQLite serialises writers, so these skip there."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from backend.care import campaigns as care_campaigns
from backend.care import policy as care_policy
from backend.care.campaigns import create_campaign, run_campaign
from backend.care.models import CareCampaign, CareCategory, CareVisit
from backend.care.policy import PolicyViolated
from backend.care.visits import record_visit
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Group
from backend.staff.models import Role, Staff
from tests.care_helpers import draft, policy
from tests.concurrency import WAIT, Held, Runner, backend_pid, someone_waits_for
from tests.conftest import requires_postgres
from tests.factories import make_member, make_staff


def _campaign(app, staff_id, group_id, name):
    with app.app_context(), unit_of_work():
        campaign = create_campaign(
            staff=db.session.get(Staff, staff_id),
            name=name,
            festival=name,
            visit_on=date(2026, 2, 1),
            gift="米面油",
            amount_fen=100000,  # ¥1,000; two of them break the ¥1,500 cap
            groups=[db.session.get(Group, group_id)],
        )
        return campaign.id


def _run(staff_id, campaign_id):
    def work():
        campaign = db.session.get(CareCampaign, campaign_id)
        result = run_campaign(campaign, staff=db.session.get(Staff, staff_id))
        return result, backend_pid()

    return work


def _visit(staff_id, member_id):
    def work():
        made = draft(member_id, CareCategory.festival, yuan=1000, event_on=date(2026, 9, 25))
        return record_visit(made, staff=db.session.get(Staff, staff_id)).id, backend_pid()

    return work


def _race(app, union, other):
    policy(app)  # festival cap ¥1,500 a person a year
    staff = make_staff(app, Role.officer, union.root)
    member = make_member(app, union.group_a)
    spring = _campaign(app, staff, union.group_a, "春节慰问")
    first = Held(app, _run(staff, spring))
    first.start()
    assert first.done.wait(WAIT) and first.error is None, first.error
    if other == "visit":
        second = Runner(app, _visit(staff, member))
    else:
        second = Runner(app, _run(staff, _campaign(app, staff, union.group_a, "端午慰问")))
    return first, second


def _finish(first, second):
    first.release.set()
    first.join(WAIT)
    second.join(WAIT)


def _festival_total(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.sum(CareVisit.amount_fen)))


@requires_postgres
@pytest.mark.parametrize("other", ["visit", "campaign"])
def test_a_campaign_run_and_a_visit_or_another_campaign_at_once_keep_the_festival_cap(app, union, other):
    first, second = _race(app, union, other)
    try:
        second.start()
        assert someone_waits_for(app, first.result[1]), "the second did not wait for the campaign run"
    finally:
        _finish(first, second)
    assert first.error is None and first.result[0].planned == 1
    if other == "visit":
        assert isinstance(second.error, PolicyViolated), second.error
        assert [v.code for v in second.error.violations] == ["over_festival_cap"]
    else:
        assert second.error is None and second.result[0].planned == 0
        assert [[v.code for v in broken] for _, broken in second.result[0].left_out] == [
            ["over_festival_cap"]
        ]
    assert _festival_total(app) == 100000


@requires_postgres
@pytest.mark.parametrize("other", ["visit", "campaign"])
def test_control_without_run_campaigns_lock_the_cap_is_broken(app, union, monkeypatch, other):
    monkeypatch.setattr(care_campaigns, "lock_year", care_policy.ensure_year)
    first, second = _race(app, union, other)
    try:
        second.start()
        second.join(WAIT)  # nothing to wait for: it runs to its end while the campaign is still open
        assert not second.is_alive()
    finally:
        _finish(first, second)
    assert first.error is None and second.error is None, second.error
    assert _festival_total(app) == 200000  # ¥2,000 > the ¥1,500 cap: what the lock prevents
