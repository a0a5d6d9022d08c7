"""A member's full phone (issue 12): shown only on a click, one audited read per click; the edit form
never carries it, and a blank phone field keeps the number on file."""

from __future__ import annotations

from datetime import timedelta

import pytest

import backend.audit.operations as audit_operations
from backend.audit.models import AuditLog
from backend.db import utcnow
from backend.members.models import Member
from backend.staff.models import Role
from tests.admin.conftest import assert_html_error, html, post
from tests.factories import count, get, make_member

PHONE = "13812345678"


def views(app, member_id):
    return count(app, AuditLog, AuditLog.action == "member.view_phone", AuditLog.object_id == member_id)


def test_each_click_is_one_audited_read(app, client, union, login_as, monkeypatch):
    member_id = make_member(app, union.group_a, phone=PHONE)
    login_as(Role.officer, union.branch_a)
    for _ in range(3):
        assert client.get(f"/admin/members/{member_id}").status_code == 200
    assert views(app, member_id) == 0
    start = utcnow()
    for seconds in (0, 2, 4):
        monkeypatch.setattr(audit_operations, "utcnow", lambda s=seconds: start + timedelta(seconds=s))
        assert PHONE in html(post(client, f"/admin/members/{member_id}/phone"))
    assert views(app, member_id) == 3


def test_a_double_click_is_one_row(app, client, union, login_as):
    member_id = make_member(app, union.group_a, phone=PHONE)
    login_as(Role.officer, union.branch_a)
    post(client, f"/admin/members/{member_id}/phone")
    post(client, f"/admin/members/{member_id}/phone")
    assert views(app, member_id) == 1


def test_the_reveal_is_a_post_with_csrf(app, client, union, login_as):
    member_id = make_member(app, union.group_a, phone=PHONE)
    login_as(Role.officer, union.branch_a)
    assert_html_error(client.get(f"/admin/members/{member_id}/phone"), 405)
    assert_html_error(client.post(f"/admin/members/{member_id}/phone"), 400)
    assert views(app, member_id) == 0


@pytest.mark.parametrize(
    ("role", "scope", "status"), [(Role.group_leader, "group_a", 403), (Role.officer, "branch_b", 404)]
)
def test_only_editors_in_scope_may_reveal(app, client, union, login_as, role, scope, status):
    member_id = make_member(app, union.group_a, phone=PHONE)
    login_as(role, getattr(union, scope))
    body = assert_html_error(post(client, f"/admin/members/{member_id}/phone"), status)
    assert PHONE not in body
    assert views(app, member_id) == 0


def test_no_button_without_a_phone(app, client, union, login_as):
    member_id = make_member(app, union.group_a, phone=None)
    login_as(Role.officer, union.branch_a)
    body = html(client.get(f"/admin/members/{member_id}"))
    assert "显示完整号码" not in body and "未填写" in body


def _edit(client, member_id, **fields):
    data = {"name": "张三", "employee_no": "E1", "phone": "", "birthday": "", "joined_on": "", **fields}
    return post(client, f"/admin/members/{member_id}/edit", data)


def test_a_blank_phone_keeps_the_number(app, client, union, login_as):
    member_id = make_member(app, union.group_a, name="张三", employee_no="E1", phone=PHONE)
    login_as(Role.officer, union.branch_a)
    assert _edit(client, member_id, name="张三丰").status_code == 302
    member = get(app, Member, member_id)
    assert member.name == "张三丰" and member.phone == PHONE


def test_a_new_phone_replaces_it_and_clearing_is_explicit(app, client, union, login_as):
    member_id = make_member(app, union.group_a, name="张三", employee_no="E1", phone=PHONE)
    login_as(Role.officer, union.branch_a)
    assert "删除手机号" in html(client.get(f"/admin/members/{member_id}/edit"))
    assert _edit(client, member_id, phone="13900000000").status_code == 302
    assert get(app, Member, member_id).phone == "13900000000"

    both = _edit(client, member_id, phone="13700000000", clear_phone="y")
    assert both.status_code == 422 and "不要勾选删除手机号" in html(both)
    assert get(app, Member, member_id).phone == "13900000000"

    assert _edit(client, member_id, clear_phone="y").status_code == 302
    member = get(app, Member, member_id)
    assert member.phone is None and member.phone_index is None
    assert "删除手机号" not in html(client.get(f"/admin/members/{member_id}/edit"))
