"""后台账号 (admins only): create, edit, disable, reset a password."""

from __future__ import annotations

import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.db import unit_of_work
from backend.extensions import db
from backend.staff.models import Role, Staff
from tests.admin.conftest import html, post
from tests.factories import count, get, make_member, make_staff, staff_login


def staff_data(union, **overrides):
    data = {
        "username": "newbie",
        "display_name": "新干事",
        "role": "officer",
        "scope_group_id": union.branch_a,
        "password": "long-enough-1",
        "confirm": "long-enough-1",
    }
    return {**data, **overrides}


def test_list_and_create(app, client, union, login_as):
    login_as(Role.admin, union.root)
    assert "各角色能做什么" in html(client.get("/admin/staff/"))
    assert client.get("/admin/staff/new").status_code == 200
    response = post(client, "/admin/staff/new", staff_data(union))
    assert response.status_code == 302
    body = html(client.get("/admin/staff/"))
    assert "newbie" in body and "已建立账号「newbie」" in body
    with app.app_context():
        staff = db.session.scalar(sa.select(Staff).where(Staff.username == "newbie"))
        assert staff.role == Role.officer and staff.scope_group_id == union.branch_a
    assert staff_login(app.test_client(), "newbie", "long-enough-1").status_code == 302


def test_create_validation_is_chinese_and_writes_nothing(app, client, union, login_as):
    login_as(Role.admin, union.root)
    make_staff(app, Role.officer, union.branch_a, username="taken")
    before = count(app, Staff)
    response = post(client, "/admin/staff/new", staff_data(union, password="short", confirm="other"))
    assert response.status_code == 422
    assert "密码至少 8 位" in html(response) and "两次输入的密码不一致" in html(response)
    response = post(client, "/admin/staff/new", staff_data(union, username="TAKEN"))
    assert response.status_code == 409 and "登录名已被使用" in html(response)
    response = post(client, "/admin/staff/new", staff_data(union, username="有 空格"))
    assert response.status_code == 422 and "登录名只能用" in html(response)
    assert count(app, Staff) == before


def test_edit_role_scope_and_disable_ends_their_session(app, client, union, login_as):
    victim = make_staff(app, Role.officer, union.branch_a, username="victim")
    other = app.test_client()
    assert staff_login(other, "victim").status_code == 302
    login_as(Role.admin, union.root)
    assert client.get(f"/admin/staff/{victim}/edit").status_code == 200
    data = {"display_name": "改名", "role": "chair", "scope_group_id": union.branch_b}
    # Unchecked box: disabled. Issue 12: disabling asks first, so it takes the confirmation too.
    asked = post(client, f"/admin/staff/{victim}/edit", data)
    assert asked.status_code == 200 and "确定停用" in html(asked) and get(app, Staff, victim).is_enabled
    response = post(client, f"/admin/staff/{victim}/edit", {**data, "confirm_disable": "yes"})
    assert response.status_code == 302
    staff = get(app, Staff, victim)
    assert (staff.display_name, staff.role, staff.scope_group_id, staff.is_enabled) == (
        "改名",
        Role.chair,
        union.branch_b,
        False,
    )
    assert other.get("/admin/").status_code == 302
    assert count(app, AuditLog, AuditLog.action == "staff.update") == 1


def test_admin_cannot_disable_themselves(app, client, union, login_as):
    me = login_as(Role.admin, union.root)
    data = {"display_name": "我", "role": "admin", "scope_group_id": union.root}
    response = post(client, f"/admin/staff/{me}/edit", data)
    assert response.status_code == 422 and "不能停用自己的账号" in html(response)
    assert get(app, Staff, me).is_enabled
    response = post(client, f"/admin/staff/{me}/edit", {**data, "is_enabled": "y"})
    assert response.status_code == 302 and client.get("/admin/staff/").status_code == 200


def test_reset_password(app, client, union, login_as):
    victim = make_staff(app, Role.officer, union.branch_a, username="victim")
    login_as(Role.admin, union.root)
    data = {"password": "brand-new-pass", "confirm": "brand-new-pass"}
    assert post(client, f"/admin/staff/{victim}/password", data).status_code == 302
    assert staff_login(app.test_client(), "victim").status_code == 200
    assert staff_login(app.test_client(), "victim", "brand-new-pass").status_code == 302
    assert count(app, AuditLog, AuditLog.action == "staff.password") == 1


def test_admin_resetting_own_password_stays_signed_in(app, client, union, login_as):
    me = login_as(Role.admin, union.root)
    data = {"password": "brand-new-pass", "confirm": "brand-new-pass"}
    assert post(client, f"/admin/staff/{me}/password", data).status_code == 302
    assert client.get("/admin/staff/").status_code == 200


def test_missing_account_is_404(client, union, login_as):
    login_as(Role.admin, union.root)
    assert client.get("/admin/staff/99999/edit").status_code == 404


def test_disabling_asks_first_and_says_what_it_did(app, client, union, login_as):
    """Issue 12: unticking 启用 brings a question, not a change; confirming disables and says so."""
    victim = make_staff(app, Role.officer, union.branch_a, username="victim")
    other = app.test_client()
    assert staff_login(other, "victim").status_code == 302
    login_as(Role.admin, union.root)
    data = {"display_name": "李四", "role": "officer", "scope_group_id": union.branch_a}
    asked = post(client, f"/admin/staff/{victim}/edit", data)
    page = html(asked)
    assert asked.status_code == 200 and "确定停用「victim」吗" in page and "确认停用" in page
    assert 'name="confirm_disable" type="hidden" value="yes"' in page
    assert get(app, Staff, victim).is_enabled and other.get("/admin/").status_code == 200
    assert count(app, AuditLog, AuditLog.action == "staff.update") == 0

    done = post(client, f"/admin/staff/{victim}/edit", {**data, "confirm_disable": "yes"})
    assert done.status_code == 302
    assert "已停用「李四」，其所有登录已退出" in html(client.get(done.headers["Location"]))
    assert not get(app, Staff, victim).is_enabled and other.get("/admin/").status_code == 302

    again = post(client, f"/admin/staff/{victim}/edit", {**data, "is_enabled": "y"})  # enabling: no question
    assert again.status_code == 302 and "已重新启用「李四」" in html(client.get(again.headers["Location"]))


def test_other_edits_do_not_ask(app, client, union, login_as):
    victim = make_staff(app, Role.officer, union.branch_a, username="victim")
    login_as(Role.admin, union.root)
    data = {"display_name": "新名字", "role": "officer", "scope_group_id": union.branch_a, "is_enabled": "y"}
    response = post(client, f"/admin/staff/{victim}/edit", data)
    assert response.status_code == 302 and "账号已保存" in html(client.get(response.headers["Location"]))
    assert get(app, Staff, victim).display_name == "新名字"


def test_the_edit_page_links_an_account_to_its_member_and_checks_the_employee_number(
    app, client, union, login_as
):
    """Separation of duties needs to know who a staff account is: the admin sets it on the edit page."""
    officer = make_staff(app, Role.officer, union.branch_a, username="lin")
    make_member(app, union.group_a, name="林干事", employee_no="E777")
    taken_member = make_member(app, union.group_a, name="别人", employee_no="E888")
    other = make_staff(app, Role.officer, union.branch_a, username="other")
    with app.app_context(), unit_of_work():
        db.session.get(Staff, other).member_id = taken_member
    login_as(Role.admin, union.root)
    data = {"display_name": "林干事", "role": "officer", "scope_group_id": union.branch_a, "is_enabled": "y"}

    unknown = post(client, f"/admin/staff/{officer}/edit", {**data, "member_employee_no": "E000"})
    assert unknown.status_code == 422 and "名册里没有这个工号" in html(unknown)
    taken = post(client, f"/admin/staff/{officer}/edit", {**data, "member_employee_no": "E888"})
    assert taken.status_code == 422 and "这个工号已对应后台账号 other" in html(taken)
    assert get(app, Staff, officer).member_id is None

    assert (
        post(client, f"/admin/staff/{officer}/edit", {**data, "member_employee_no": "E777"}).status_code
        == 302
    )
    assert 'value="E777"' in html(client.get(f"/admin/staff/{officer}/edit"))
    assert get(app, Staff, officer).member_id is not None
    assert count(app, AuditLog, AuditLog.action == "staff.update") == 1
    assert post(client, f"/admin/staff/{officer}/edit", {**data, "member_employee_no": ""}).status_code == 302
    assert get(app, Staff, officer).member_id is None


def test_link_staff_member_command_shares_the_edit_pages_checks(app, union):
    make_staff(app, Role.officer, union.branch_a, username="lin")
    taken_member = make_member(app, union.group_a, employee_no="E888")
    other = make_staff(app, Role.officer, union.branch_a, username="other")
    with app.app_context(), unit_of_work():
        db.session.get(Staff, other).member_id = taken_member
    runner = app.test_cli_runner()
    taken = runner.invoke(args=["link-staff-member", "lin", "E888"])
    assert taken.exit_code != 0 and "这个工号已对应后台账号 other" in taken.output
    unknown = runner.invoke(args=["link-staff-member", "lin", "E000"])
    assert unknown.exit_code != 0 and "名册里没有这个工号" in unknown.output
    make_member(app, union.group_a, employee_no="E777")
    assert runner.invoke(args=["link-staff-member", "lin", "E777"]).exit_code == 0
    assert count(app, AuditLog, AuditLog.action == "staff.update") == 1
