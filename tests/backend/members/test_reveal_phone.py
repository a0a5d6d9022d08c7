"""Revealing a full phone number: only for roles that edit the member, audited in the caller's work."""

from __future__ import annotations

import pytest

from backend.audit.models import AuditLog
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Member
from backend.members.privacy import reveal_phone
from backend.staff.models import Role, Staff
from tests.factories import count, make_member, make_staff, make_union


def test_an_officer_sees_the_phone_and_the_read_is_audited(app):
    union = make_union(app)
    member_id = make_member(app, union.group_a, phone="13912345678")
    officer = make_staff(app, Role.officer, union.branch_a)
    with app.app_context(), unit_of_work():
        staff, member = db.session.get(Staff, officer), db.session.get(Member, member_id)
        assert reveal_phone(member, staff=staff, where="detail") == "13912345678"
    assert count(app, AuditLog, AuditLog.action == "member.view_phone", AuditLog.object_id == member_id) == 1


@pytest.mark.parametrize(("role", "scope"), [(Role.group_leader, "group_a"), (Role.officer, "branch_b")])
def test_no_phone_for_a_role_that_does_not_edit_the_member(app, role, scope):
    union = make_union(app)
    member_id = make_member(app, union.group_a)
    staff_id = make_staff(app, role, getattr(union, scope))
    with app.app_context(), unit_of_work():
        staff, member = db.session.get(Staff, staff_id), db.session.get(Member, member_id)
        assert reveal_phone(member, staff=staff, where="detail") is None
    assert count(app, AuditLog, AuditLog.action == "member.view_phone") == 0


def test_the_audit_row_goes_with_the_callers_transaction(app):
    union = make_union(app)
    member_id = make_member(app, union.group_a)
    officer = make_staff(app, Role.officer, union.root)
    with app.app_context(), pytest.raises(RuntimeError), unit_of_work():
        reveal_phone(db.session.get(Member, member_id), staff=db.session.get(Staff, officer), where="edit")
        raise RuntimeError("the page failed after the phone was read")
    assert count(app, AuditLog, AuditLog.action == "member.view_phone") == 0
