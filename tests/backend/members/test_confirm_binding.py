"""Confirming a WeChat binding: the operation's own rules, whatever door calls it (the admin checks first)."""

from __future__ import annotations

import pytest

from backend.db import unit_of_work
from backend.errors import InvalidState, NotFound
from backend.extensions import db
from backend.members.models import BindingProof, Member, WechatAccount
from backend.members.operations import confirm_binding
from backend.staff.models import Role, Staff
from tests.factories import make_member, make_staff, make_union


@pytest.fixture
def union(app):
    return make_union(app)


@pytest.fixture
def bound_by_name(app, union) -> int:
    """A member of 甲一组 whose account was bound by name + 工号 (no proof yet)."""
    member_id = make_member(app, union.group_a, phone=None)
    with app.app_context(), unit_of_work():
        db.session.add(WechatAccount(openid="wx-by-name", member_id=member_id))
    return member_id


@pytest.mark.parametrize(("role", "scope"), [(Role.officer, "branch_b"), (Role.group_leader, "group_a")])
def test_only_staff_who_edit_members_in_scope_may_confirm(app, union, bound_by_name, role, scope):
    staff_id = make_staff(app, role, getattr(union, scope))
    with app.app_context():
        member = db.session.get(Member, bound_by_name)
        with pytest.raises(NotFound):
            confirm_binding(member, staff=db.session.get(Staff, staff_id))
        db.session.rollback()
        assert db.session.get(Member, bound_by_name).wechat_account.binding_proof is None


def test_a_member_without_a_binding_has_nothing_to_confirm(app, union):
    member_id = make_member(app, union.group_a)
    staff_id = make_staff(app, Role.officer, union.branch_a)
    with app.app_context():
        with pytest.raises(InvalidState):
            confirm_binding(db.session.get(Member, member_id), staff=db.session.get(Staff, staff_id))
        db.session.rollback()


def test_confirming_records_who_and_when(app, union, bound_by_name):
    staff_id = make_staff(app, Role.officer, union.branch_a)
    with app.app_context(), unit_of_work():
        account = confirm_binding(
            db.session.get(Member, bound_by_name), staff=db.session.get(Staff, staff_id)
        )
        assert account.binding_proof == BindingProof.staff
        assert account.binding_confirmed_by_id == staff_id and account.binding_confirmed_at is not None
