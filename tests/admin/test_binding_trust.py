"""Staff see and confirm WeChat bindings made by name + 工号 alone, and see the 工号 under attack today."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import BindingFailure, BindingProof, JoinRequest, Member, WechatAccount
from backend.members.operations import set_phone
from backend.staff.models import Role
from tests.admin.conftest import file_join_request, html, post
from tests.factories import api_login, auth, bound_member, count, get, make_member


def bound_by_name(app: Any, client: Any, emu: Any, group_id: int, **fields: Any) -> tuple[int, str]:
    """A member with no phone on the roster, bound in the mini-program by name + 工号: (id, token)."""
    return bound_member(app, client, emu, group_id, phone=None, **fields)


def account_of(app: Any, member_id: int) -> WechatAccount:
    with app.app_context():
        account = db.session.scalar(sa.select(WechatAccount).where(WechatAccount.member_id == member_id))
        db.session.expunge(account)
        return account


def test_the_list_filters_bindings_that_wait_for_confirmation(app, client, emu, union, login_as):
    bound_by_name(app, client, emu, union.group_a, name="凭姓名")
    bound_member(app, client, emu, union.group_a, name="凭手机")
    make_member(app, union.group_a, name="没绑定")
    login_as(Role.officer, union.branch_a)
    body = html(client.get("/admin/members/", query_string={"binding": "unconfirmed"}))
    assert "凭姓名" in body and "凭手机" not in body and "没绑定" not in body
    assert "待确认" in body


def test_confirming_a_binding_is_audited_and_lets_the_export_show_the_phone(
    app, client, emu, union, login_as
):
    member_id, token = bound_by_name(app, client, emu, union.group_a)
    # The phone is added to the roster later: until staff vouch for the binding, the export masks it.
    with app.app_context(), unit_of_work():
        set_phone(db.session.get(Member, member_id), "13500004444")
    assert client.get("/api/v1/me/export", headers=auth(token)).get_json()["member"]["phone"] != "13500004444"

    staff_id = login_as(Role.officer, union.branch_a)
    detail = html(client.get(f"/admin/members/{member_id}"))
    assert "待确认" in detail and "确认是本人绑定" in detail
    response = post(client, f"/admin/members/{member_id}/binding/confirm")
    assert response.status_code == 302
    assert "已确认该微信绑定为会员本人" in html(client.get(response.headers["Location"]))

    account = account_of(app, member_id)
    assert account.binding_proof == BindingProof.staff and account.binding_confirmed_by_id == staff_id
    assert count(app, AuditLog, AuditLog.action == "member.binding_confirm") == 1
    assert "确认是本人绑定" not in html(client.get(f"/admin/members/{member_id}"))
    assert client.get("/api/v1/me/export", headers=auth(token)).get_json()["member"]["phone"] == "13500004444"


def test_confirming_twice_is_refused_and_audited_once(app, client, emu, union, login_as):
    member_id, _ = bound_by_name(app, client, emu, union.group_a)
    login_as(Role.officer, union.branch_a)
    post(client, f"/admin/members/{member_id}/binding/confirm")
    response = post(client, f"/admin/members/{member_id}/binding/confirm", follow_redirects=True)
    assert "无需重复确认" in html(response)
    assert count(app, AuditLog, AuditLog.action == "member.binding_confirm") == 1


def test_a_binding_proved_by_phone_needs_no_confirmation(app, client, emu, union, login_as):
    member_id, _ = bound_member(app, client, emu, union.group_a)
    login_as(Role.officer, union.branch_a)
    detail = html(client.get(f"/admin/members/{member_id}"))
    assert "本人微信手机号与名册一致" in detail and "确认是本人绑定" not in detail
    response = post(client, f"/admin/members/{member_id}/binding/confirm", follow_redirects=True)
    assert "无需重复确认" in html(response)
    assert count(app, AuditLog, AuditLog.action == "member.binding_confirm") == 0


def test_only_staff_who_edit_members_in_scope_may_confirm(app, client, emu, union, login_as):
    member_id, _ = bound_by_name(app, client, emu, union.group_a)
    login_as(Role.officer, union.branch_b)
    assert post(client, f"/admin/members/{member_id}/binding/confirm").status_code == 404
    other = app.test_client()
    login_as(Role.group_leader, union.group_a, on=other)
    assert post(other, f"/admin/members/{member_id}/binding/confirm").status_code == 403
    assert account_of(app, member_id).binding_proof is None
    assert count(app, AuditLog, AuditLog.action == "member.binding_confirm") == 0


def test_approving_a_join_request_is_the_staff_confirmation(app, client, emu, union, login_as):
    request_id = file_join_request(app, client, emu, union.group_a)
    staff_id = login_as(Role.officer, union.branch_a)
    response = post(client, f"/admin/join-requests/{request_id}/approve", {"approve-group_id": union.group_a})
    assert response.status_code == 302, html(response)
    member_id = get(app, JoinRequest, request_id).member_id
    account = account_of(app, member_id)
    assert account.binding_proof == BindingProof.staff and account.binding_confirmed_by_id == staff_id


def test_the_dashboard_counts_bindings_to_confirm_in_scope(app, client, emu, union, login_as):
    bound_by_name(app, client, emu, union.group_a)
    bound_by_name(app, client, emu, union.group_b)
    bound_member(app, client, emu, union.group_a)
    login_as(Role.officer, union.branch_a)
    body = html(client.get("/admin/"))
    assert '<span class="number">1</span><span class="label">待确认的微信绑定' in body


def _attack(client: Any, emu: Any, employee_no: str, times: int) -> None:
    for n in range(times):
        openid = f"wx-attack-{employee_no}-{n}"
        token = api_login(client, emu, openid)
        body = {
            "name": "猜的名字",
            "employee_no": employee_no,
            "phone_code": emu.phone_code(openid, "13700000000"),
        }
        response = client.post("/api/v1/me/binding", json=body, headers=auth(token))
        assert response.get_json()["error"] == "binding_mismatch"


def test_the_dashboard_shows_the_employee_no_under_attack_to_staff_in_scope(
    app, client, emu, union, login_as, monkeypatch
):
    monkeypatch.setitem(app.config, "BINDING_FAILURE_LIMIT", 3)
    make_member(app, union.group_a, name="被冒用", employee_no="A0001", phone="13900001111")
    make_member(app, union.group_a, name="试一次", employee_no="A0002", phone="13900002222")
    make_member(app, union.group_b, name="别的分会", employee_no="B0001", phone="13900003333")
    _attack(client, emu, "A0001", 3)
    _attack(client, emu, "A0002", 2)
    _attack(client, emu, "B0001", 4)
    assert count(app, BindingFailure) == 9

    login_as(Role.officer, union.branch_a)
    body = html(client.get("/admin/"))
    assert "今天认证失败较多的工号" in body
    assert "A0001" in body and "被冒用" in body
    assert "A0002" not in body  # under the limit
    assert "B0001" not in body  # another branch's member

    other = app.test_client()
    login_as(Role.chair, union.branch_b, on=other)
    body = html(other.get("/admin/"))
    assert "B0001" in body and "A0001" not in body
