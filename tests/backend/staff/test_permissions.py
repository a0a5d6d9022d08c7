"""What a staff member may do (Staff.can), where (in_scope, scope_filter), and whose requests they review."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.extensions import db
from backend.members.models import Group, JoinRequest, Member
from backend.staff.models import Role, Staff
from tests.factories import make_member, make_staff

EVERY_PERMISSION = (
    "view_members",
    "edit_members",
    "import_roster",
    "manage_groups",
    "review_join_requests",
    "manage_staff",
    "manage_announcements",
    "view_audit_log",
)
ALLOWED = {
    Role.admin: set(EVERY_PERMISSION),
    Role.chair: set(EVERY_PERMISSION) - {"manage_staff"},
    Role.officer: {
        "view_members",
        "edit_members",
        "import_roster",
        "review_join_requests",
        "manage_announcements",
    },
    Role.group_leader: {"view_members"},
}


def _staff(staff_id: int) -> Staff:
    return db.session.get(Staff, staff_id)


def _group(group_id: int) -> Group:
    return db.session.get(Group, group_id)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_may_do_what_it_is_meant_to_and_nothing_more(app, union, role):
    staff_id = make_staff(app, role, union.root)
    with app.app_context():
        staff = _staff(staff_id)
        assert {permission for permission in EVERY_PERMISSION if staff.can(permission)} == ALLOWED[role]
        assert not staff.can("no_such_permission")


def test_scope_is_the_group_and_everything_below_it(app, union):
    branch_id, top_id = (
        make_staff(app, Role.officer, union.branch_a),
        make_staff(app, Role.officer, union.root),
    )
    with app.app_context():
        officer = _staff(branch_id)
        assert officer.in_scope(_group(union.branch_a)) and officer.in_scope(_group(union.group_a))
        assert not officer.in_scope(_group(union.root))  # not upwards
        assert not officer.in_scope(_group(union.branch_b)) and not officer.in_scope(_group(union.group_b))
        assert not officer.in_scope(None)
        assert _staff(top_id).in_scope(_group(union.group_b))


def test_scope_filter_keeps_the_rows_that_in_scope_keeps(app, union):
    officer_id = make_staff(app, Role.officer, union.branch_a)
    members = {group_id: make_member(app, group_id) for group_id in vars(union).values()}
    with app.app_context():
        officer = _staff(officer_id)
        seen = set(db.session.scalars(sa.select(Member.id).where(officer.scope_filter(Member.group_id))))
        assert seen == {members[union.branch_a], members[union.group_a]}
        assert seen == {member for group, member in members.items() if officer.in_scope(_group(group))}


def test_seeing_and_editing_a_member_need_the_permission_and_the_scope(app, union):
    member_id = make_member(app, union.group_a)
    officer_id = make_staff(app, Role.officer, union.branch_a)
    leader_id = make_staff(app, Role.group_leader, union.group_a)
    elsewhere_id = make_staff(app, Role.officer, union.branch_b)
    with app.app_context():
        member = db.session.get(Member, member_id)
        officer, leader, elsewhere = _staff(officer_id), _staff(leader_id), _staff(elsewhere_id)
        assert officer.can_see(member) and officer.can_edit(member)
        assert leader.can_see(member) and not leader.can_edit(member)
        assert not elsewhere.can_see(member) and not elsewhere.can_edit(member)


def test_join_requests_are_reviewed_in_scope_and_those_without_a_group_at_the_top(app, union):
    top_id = make_staff(app, Role.officer, union.root)
    branch_id = make_staff(app, Role.officer, union.branch_a)
    other_branch_id = make_staff(app, Role.chair, union.branch_b)
    leader_id = make_staff(app, Role.group_leader, union.root)  # the whole union, but no right to review
    with app.app_context():
        in_group_a = JoinRequest(name="申请人", employee_no="NEW001", group=_group(union.group_a))
        no_group = JoinRequest(name="申请人", employee_no="NEW002", group=None)
        top, branch = _staff(top_id), _staff(branch_id)
        other_branch, leader = _staff(other_branch_id), _staff(leader_id)
        assert top.can_review(in_group_a) and top.can_review(no_group)
        assert branch.can_review(in_group_a) and not branch.can_review(no_group)
        assert not other_branch.can_review(in_group_a) and not other_branch.can_review(no_group)
        assert not leader.can_review(in_group_a) and not leader.can_review(no_group)
