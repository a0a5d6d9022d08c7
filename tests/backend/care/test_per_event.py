"""The per-event categories (住院、生育、丧事 …): one visit per event. A visit made from a request is for
that request's event; a direct visit carries the event's date. A second visit for the same member,
category and event is refused with its reason, unless overridden with a written one."""

from __future__ import annotations

from datetime import date

import pytest

from backend.care.models import CareCategory, CareRequest, CareVisit, ContentState
from backend.care.policy import PolicyViolated
from backend.care.visits import record_visit
from backend.db import unit_of_work
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.members.models import Member
from backend.staff.models import Role, Staff
from tests.backend.care.test_policy import refused
from tests.care_helpers import YEAR, draft, policy, visit
from tests.factories import get, make_member, make_staff

HOSPITAL = CareCategory.hospitalization
EVENT = date(YEAR, 5, 30)


@pytest.fixture
def setup(app, union):
    policy(app)
    return make_staff(app, Role.officer, union.root), make_member(app, union.group_a)


def _request(app, member_id, occurred_on=EVENT):
    with app.app_context(), unit_of_work():
        request = CareRequest(
            member=db.session.get(Member, member_id),
            category=HOSPITAL,
            description="住院",
            occurred_on=occurred_on,
            content_state=ContentState.passed,
        )
        db.session.add(request)
        db.session.flush()
        return request.id


def _from_request(app, staff_id, request_id, **kw):
    with app.app_context(), unit_of_work():
        request = db.session.get(CareRequest, request_id)
        made = draft(request.member_id, HOSPITAL, yuan=500, event_on=None, **kw)
        return record_visit(made, staff=db.session.get(Staff, staff_id), request=request).id


def test_a_second_direct_visit_for_the_same_event_is_refused_another_event_is_not(app, setup):
    staff, member = setup
    first = visit(app, staff, member, HOSPITAL, yuan=500, event_on=EVENT)
    assert get(app, CareVisit, first).event_on == EVENT
    assert refused(app, staff, member, HOSPITAL, yuan=300, event_on=EVENT) == ["same_event"]
    visit(app, staff, member, HOSPITAL, yuan=500, event_on=date(YEAR, 9, 1))  # a second stay in hospital
    other = make_member(app, get(app, Member, member).group_id)
    visit(app, staff, other, HOSPITAL, yuan=500, event_on=EVENT)  # another member's event


def test_the_override_lets_a_second_visit_for_the_event_through_and_keeps_the_rule(app, setup):
    staff, member = setup
    visit(app, staff, member, HOSPITAL, yuan=500, event_on=EVENT)
    again = visit(app, staff, member, HOSPITAL, yuan=300, event_on=EVENT, override="病情加重，再次探望")
    row = get(app, CareVisit, again)
    assert row.override_rules == ["same_event"] and row.override_reason == "病情加重，再次探望"


def test_a_visit_from_a_request_is_for_its_event(app, setup):
    staff, member = setup
    request_id = _request(app, member)
    first = _from_request(app, staff, request_id, visited_on=date(YEAR, 6, 2))
    row = get(app, CareVisit, first)
    assert (row.request_id, row.event_on) == (request_id, EVENT)
    with pytest.raises(PolicyViolated) as second:
        _from_request(app, staff, request_id)
    assert [v.code for v in second.value.violations] == ["same_event"]
    # A direct visit carrying the request's date is the same event too.
    assert refused(app, staff, member, HOSPITAL, yuan=300, event_on=EVENT) == ["same_event"]


def test_a_second_visit_from_the_same_request_is_refused(app, setup):
    staff, member = setup
    request_id = _request(app, member, occurred_on=date(YEAR, 4, 1))
    _from_request(app, staff, request_id)
    with pytest.raises(PolicyViolated) as second:
        _from_request(app, staff, request_id)
    assert [v.code for v in second.value.violations] == ["same_event"]


def test_a_direct_per_event_visit_must_give_the_event_date(app, setup):
    staff, member = setup
    with pytest.raises(ValidationFailed) as caught:
        visit(app, staff, member, HOSPITAL, yuan=500, event_on=None)
    assert caught.value.errors == {"event_on": ["请填写事件日期（该类慰问按每次事件计）"]}
    visit(app, staff, member, CareCategory.birthday, event_on=None)  # once a year: no event needed


def test_a_visit_cannot_take_another_members_request(app, setup):
    """The request gives the visit its event: another member's would count their event for this one."""
    staff, member = setup
    other = make_member(app, get(app, Member, member).group_id)
    request_id = _request(app, other)
    with app.app_context(), unit_of_work():
        made = draft(member, HOSPITAL, yuan=500, event_on=None)
        with pytest.raises(ValidationFailed) as caught:
            record_visit(
                made, staff=db.session.get(Staff, staff), request=db.session.get(CareRequest, request_id)
            )
    assert caught.value.errors == {"request_id": ["这条关怀申请不是该会员的"]}
