"""Scope isolation: staff of branch A cannot list, open or change anything of branch B (404),
and roles without a permission are refused (403) before anything is loaded."""

from __future__ import annotations

import pytest

from backend.members.models import GroupChange, JoinRequest, JoinRequestStatus, Member
from backend.staff.models import Role
from tests.admin.conftest import assert_html_error, file_join_request, html, post
from tests.factories import count, get, make_member


@pytest.fixture
def member_b(app, union) -> int:
    return make_member(app, union.group_b, name="乙方会员", employee_no="B0001")


def test_officer_of_a_cannot_see_member_of_b(app, client, union, login_as, member_b):
    login_as(Role.officer, union.branch_a)
    make_member(app, union.group_a, name="甲方会员")
    body = html(client.get("/admin/members/"))
    assert "甲方会员" in body and "乙方会员" not in body
    assert "乙方会员" not in html(client.get("/admin/members/?q=B0001"))
    assert "乙一组" not in body  # the group filter offers only groups in scope
    assert_html_error(client.get(f"/admin/members/?group={union.group_b}"), 404)
    assert_html_error(client.get(f"/admin/members/?group={union.root}"), 404)
    assert_html_error(client.get(f"/admin/members/{member_b}"), 404)
    assert_html_error(client.get(f"/admin/members/{member_b}/edit"), 404)
    assert_html_error(client.get(f"/admin/members/{member_b}/group"), 404)


def test_officer_of_a_cannot_change_member_of_b(app, client, union, login_as, member_b):
    login_as(Role.officer, union.branch_a)
    data = {"name": "被改了", "employee_no": "B0001", "phone": ""}
    assert_html_error(post(client, f"/admin/members/{member_b}/edit", data), 404)
    data = {"group_id": union.group_a, "reason": "挖人"}
    assert_html_error(post(client, f"/admin/members/{member_b}/group", data), 404)
    assert_html_error(post(client, f"/admin/members/{member_b}/status/left"), 404)
    member = get(app, Member, member_b)
    assert member.name == "乙方会员" and member.group_id == union.group_b and member.status.value == "active"
    assert count(app, GroupChange) == 0


def test_officer_cannot_move_own_member_into_b(app, client, union, login_as):
    member_a = make_member(app, union.group_a)
    login_as(Role.officer, union.branch_a)
    response = post(client, f"/admin/members/{member_a}/group", {"group_id": union.group_b, "reason": "x"})
    assert response.status_code == 422
    assert get(app, Member, member_a).group_id == union.group_a


def test_missing_member_is_404(client, union, login_as):
    login_as(Role.admin, union.root)
    assert_html_error(client.get("/admin/members/999999"), 404)


def test_chair_of_a_cannot_touch_groups_of_b(app, client, union, login_as):
    login_as(Role.chair, union.branch_a)
    body = html(client.get("/admin/groups/"))
    assert "甲一组" in body and "乙一组" not in body and "乙分会" not in body
    for url in (f"/admin/groups/{union.group_b}/new", f"/admin/groups/{union.group_b}/rename"):
        assert_html_error(client.get(url), 404)
        assert_html_error(post(client, url, {"name": "入侵"}), 404)
    assert_html_error(post(client, f"/admin/groups/{union.group_b}/delete"), 404)
    assert_html_error(post(client, f"/admin/groups/{union.root}/new", {"name": "入侵"}), 404)
    from backend.members.models import Group

    assert get(app, Group, union.group_b).name == "乙一组"
    assert count(app, Group) == 5


def test_officer_of_a_cannot_review_join_requests_of_b(app, client, emu, union, login_as):
    request_id = file_join_request(app, client, emu, union.group_b)
    login_as(Role.officer, union.branch_a)
    assert "申请人" not in html(client.get("/admin/join-requests/"))
    assert_html_error(client.get(f"/admin/join-requests/{request_id}"), 404)
    data = {"approve-group_id": union.group_a}
    assert_html_error(post(client, f"/admin/join-requests/{request_id}/approve", data), 404)
    data = {"reject-comment": "不行"}
    assert_html_error(post(client, f"/admin/join-requests/{request_id}/reject", data), 404)
    assert get(app, JoinRequest, request_id).status == JoinRequestStatus.pending
    assert count(app, Member) == 0


def test_group_leader_views_own_group_only_and_cannot_edit(app, client, union, login_as):
    from backend.db import unit_of_work
    from backend.extensions import db
    from backend.members.models import Group
    from backend.members.operations import create_group

    with app.app_context(), unit_of_work():
        sibling = create_group("甲二组", parent=db.session.get(Group, union.branch_a), staff=None).id
    own = make_member(app, union.group_a, name="本组会员")
    other = make_member(app, sibling, name="隔壁组会员")
    login_as(Role.group_leader, union.group_a)
    body = html(client.get("/admin/members/"))
    assert "本组会员" in body and "隔壁组会员" not in body
    assert client.get(f"/admin/members/{own}").status_code == 200
    assert_html_error(client.get(f"/admin/members/{other}"), 404)
    assert_html_error(client.get(f"/admin/members/{own}/edit"), 403)
    assert_html_error(post(client, f"/admin/members/{own}/edit", {"name": "x", "employee_no": "y"}), 403)
    assert_html_error(post(client, f"/admin/members/{own}/group", {"group_id": union.group_a}), 403)
    assert_html_error(post(client, f"/admin/members/{own}/status/left"), 403)
    assert_html_error(client.get("/admin/members/new"), 403)
    assert get(app, Member, own).status.value == "active"


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (Role.group_leader, "/admin/groups/"),
        (Role.officer, "/admin/groups/"),
        (Role.group_leader, "/admin/join-requests/"),
        (Role.group_leader, "/admin/roster/"),
        (Role.chair, "/admin/staff/"),
        (Role.chair, "/admin/staff/new"),
        (Role.officer, "/admin/staff/"),
        (Role.group_leader, "/admin/staff/"),
        (Role.officer, "/admin/groups/{group}/new"),
        (Role.officer, "/admin/groups/{group}/rename"),
        (Role.group_leader, "/admin/join-requests/{request}"),
        (Role.group_leader, "/admin/roster/template.csv"),
    ],
)
def test_role_without_permission_gets_403(app, client, emu, union, login_as, role, url):
    request_id = file_join_request(app, client, emu, union.group_a)
    login_as(role, union.root)
    body = assert_html_error(client.get(url.format(group=union.group_a, request=request_id)), 403)
    assert "没有权限" in body


def test_non_admin_cannot_change_staff_accounts(app, client, union, login_as):
    from backend.staff.models import Staff
    from tests.factories import make_staff

    victim = make_staff(app, Role.officer, union.branch_a, username="victim")
    login_as(Role.chair, union.root)
    assert_html_error(client.get(f"/admin/staff/{victim}/edit"), 403)
    data = {"password": "new-password-1", "confirm": "new-password-1"}
    assert_html_error(post(client, f"/admin/staff/{victim}/password", data), 403)
    data = {"username": "evil", "display_name": "x", "role": "admin", "scope_group_id": union.root}
    assert_html_error(
        post(client, "/admin/staff/new", {**data, "password": "12345678", "confirm": "12345678"}), 403
    )
    assert count(app, Staff) == 2


def test_admin_scoped_to_a_branch_cannot_open_staff_of_another(app, client, union, login_as):
    from tests.factories import make_staff

    other = make_staff(app, Role.officer, union.branch_b)
    login_as(Role.admin, union.branch_a)
    assert_html_error(client.get(f"/admin/staff/{other}/edit"), 404)
    assert_html_error(client.get(f"/admin/staff/{other}/password"), 404)
    assert "乙分会" not in html(client.get("/admin/staff/")).split("<tbody>")[1]
