"""Each rule of the care policy refuses a visit with its reason, and a written override lets it through
(audited, kept on the visit)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.care.models import CareCategory, CareVisit
from backend.care.policy import PolicyViolated, festival_warning
from backend.extensions import db
from backend.members.models import Member
from backend.staff.models import Role
from tests.care_helpers import YEAR, policy, visit
from tests.factories import get, make_member, make_staff


def refused(app, staff, member, category=CareCategory.birthday, **kw) -> list[str]:
    with pytest.raises(PolicyViolated) as caught:
        visit(app, staff, member, category, **kw)
    assert "不符合关怀标准" in caught.value.message
    return [v.code for v in caught.value.violations]


@pytest.fixture
def setup(app, union):
    policy(app)
    return make_staff(app, Role.officer, union.root), make_member(app, union.group_a)


def test_a_visit_within_the_policy_is_recorded(app, setup):
    staff, member = setup
    visit_id = visit(app, staff, member)
    assert get(app, CareVisit, visit_id).override_rules is None


def test_second_birthday_visit_in_a_year_is_refused_and_override_records_the_reason(app, setup):
    staff, member = setup
    visit(app, staff, member)
    assert refused(app, staff, member) == ["once_a_year"]
    visit_id = visit(app, staff, member, override="上次蛋糕未送达，补送")
    row = get(app, CareVisit, visit_id)
    assert row.override_rules == ["once_a_year"] and row.override_reason == "上次蛋糕未送达，补送"
    with app.app_context():
        log = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "care.visit_override")).one()
        assert log.object_id == visit_id and log.detail["rules"] == ["once_a_year"]


def test_a_year_without_a_policy_refuses(app, setup):
    staff, member = setup
    assert refused(app, staff, member, visited_on=date(YEAR + 1, 1, 5)) == ["no_policy"]


def test_once_only_category(app, setup):
    staff, member = setup
    visit(
        app, staff, member, CareCategory.marriage, yuan=600, visited_on=date(YEAR - 3, 1, 1), override="补录"
    )
    assert refused(app, staff, member, CareCategory.marriage, yuan=600) == ["only_once"]


def test_more_than_the_highest_amount(app, setup):
    staff, member = setup
    assert refused(app, staff, member, yuan=301) == ["over_max_amount"]
    visit(app, staff, member, yuan=301, override="经工会委员会研究同意")


def test_cash_where_cash_is_not_allowed(app, setup):
    staff, member = setup
    assert refused(app, staff, member, CareCategory.festival, yuan=500, is_cash=True) == ["cash_not_allowed"]
    visit(app, staff, member, CareCategory.hospitalization, yuan=500, is_cash=True)  # allowed there


def test_festival_cap_per_person_per_year_with_a_warning_at_80_percent(app, setup):
    staff, member = setup
    festival = CareCategory.festival
    visit(app, staff, member, festival, yuan=800, gift="春节慰问品", event_on=date(YEAR, 2, 17))
    with app.app_context():
        assert festival_warning(db.session.get(Member, member), YEAR) is None
    visit(app, staff, member, festival, yuan=500, gift="端午慰问品", event_on=date(YEAR, 6, 19))
    with app.app_context():
        assert "86%" in festival_warning(db.session.get(Member, member), YEAR)
    mid_autumn = date(YEAR, 9, 25)
    assert refused(app, staff, member, festival, yuan=300, event_on=mid_autumn) == ["over_festival_cap"]
    visit(app, staff, member, festival, yuan=200, event_on=mid_autumn)  # exactly the cap
    visit(app, staff, member, festival, yuan=100, event_on=date(YEAR, 10, 1), override="国庆补发，经主席批准")


def test_over_the_category_budget(app, union):
    policy(app, budgets={CareCategory.hospitalization: 1500})
    staff = make_staff(app, Role.officer, union.root)
    first, second = make_member(app, union.group_a), make_member(app, union.group_b)
    visit(app, staff, first, CareCategory.hospitalization, yuan=1000)
    assert refused(app, staff, second, CareCategory.hospitalization, yuan=600) == ["over_budget"]
    visit(app, staff, second, CareCategory.hospitalization, yuan=500)


def test_several_rules_at_once_are_all_listed(app, setup):
    staff, member = setup
    visit(app, staff, member)
    assert refused(app, staff, member, yuan=400, is_cash=True) == [
        "once_a_year",
        "over_max_amount",
        "cash_not_allowed",
    ]


def test_a_group_leader_records_within_the_policy_but_cannot_override(app, union, setup):
    from backend.errors import PermissionDenied

    _, member = setup
    leader = make_staff(app, Role.group_leader, union.group_a)
    visit(app, leader, member)
    with pytest.raises(PermissionDenied):
        visit(app, leader, member, override="再送一次")
