"""Permissions are one type: every role's grants are members of it, each with the label staff read."""

from __future__ import annotations

import pytest

from backend.db import unit_of_work
from backend.extensions import db
from backend.staff.models import Staff
from backend.staff.permissions import (
    PERMISSION_LABELS,
    ROLE_LABELS,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    role_summaries,
)
from tests.factories import make_staff, make_union


def test_every_permission_has_a_chinese_label():
    assert set(PERMISSION_LABELS) == set(Permission)
    assert all(label and not label.isascii() for label in PERMISSION_LABELS.values())
    assert Permission.review_join_requests.label == "入会审核"


def test_roles_grant_only_permissions():
    assert set(ROLE_PERMISSIONS) == set(Role) == set(ROLE_LABELS)
    for grants in ROLE_PERMISSIONS.values():
        assert all(isinstance(p, Permission) for p in grants)


def test_only_the_admin_manages_staff_and_only_admin_and_chair_read_the_log():
    assert [r for r in Role if Permission.manage_staff in ROLE_PERMISSIONS[r]] == [Role.admin]
    assert [r for r in Role if Permission.view_audit_log in ROLE_PERMISSIONS[r]] == [Role.admin, Role.chair]
    # DESIGN.md: group leaders view members and record care visits in their own group.
    assert ROLE_PERMISSIONS[Role.group_leader] == {Permission.view_members, Permission.record_care_visits}


def test_role_summaries_list_each_role_with_its_labels():
    summaries = dict(role_summaries())
    assert summaries["工会小组长"] == sorted(["查看会员", "登记慰问走访"])
    assert "管理后台账号" in summaries["系统管理员"] and "管理后台账号" not in summaries["工会主席"]


@pytest.mark.parametrize(("scope", "whole"), [("root", True), ("branch_a", False), ("group_a", False)])
def test_holds_whole_union_only_at_the_root(app, scope, whole):
    union = make_union(app)
    staff_id = make_staff(app, Role.officer, getattr(union, scope))
    with app.app_context(), unit_of_work():
        assert db.session.get(Staff, staff_id).holds_whole_union is whole
