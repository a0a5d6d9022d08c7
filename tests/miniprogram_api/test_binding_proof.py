"""Binding proves who you are (API.md, POST /me/binding): a name and a 工号 are known to colleagues, the
phone WeChat verified is the proof. Through the emulator's login and phone codes over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.members.models import BindingFailure, BindingProof, JoinRequest, Member, WechatAccount
from backend.members.operations import update_member
from tests.factories import api_login, auth, count, get, make_member, make_union


@pytest.fixture
def union(app):
    return make_union(app)


def bind(client, token, **body):
    return client.post("/api/v1/me/binding", json=body, headers=auth(token))


def account(app, openid: str) -> WechatAccount:
    with app.app_context():
        row = db.session.scalar(sa.select(WechatAccount).where(WechatAccount.openid == openid))
        db.session.expunge(row)
        return row


def test_a_roster_row_with_a_phone_needs_a_phone_code(app, client, emu, union):
    make_member(app, union.group_a, name="王芳", employee_no="E0001", phone="13900001111")
    token = api_login(client, emu, "wx-colleague")
    response = bind(client, token, name="王芳", employee_no="E0001")
    body = response.get_json()
    assert response.status_code == 422 and body["error"] == "phone_required"
    assert body["message"] == "请授权微信手机号以确认是您本人"
    assert account(app, "wx-colleague").member_id is None
    assert count(app, JoinRequest) == 0


def test_the_matching_verified_phone_binds_and_is_the_proof(app, client, emu, union):
    member_id = make_member(app, union.group_a, name="王芳", employee_no="E0001", phone="139 0000 1111")
    token = api_login(client, emu, "wx-wangfang")
    response = bind(
        client,
        token,
        name="王芳",
        employee_no="E0001",
        phone_code=emu.phone_code("wx-wangfang", "13900001111"),
    )
    assert response.status_code == 200 and response.get_json()["status"] == "active"
    bound = account(app, "wx-wangfang")
    assert bound.member_id == member_id and bound.binding_proof == BindingProof.phone


def test_another_verified_number_is_a_mismatch_and_counts_against_the_employee_no(app, client, emu, union):
    member_id = make_member(app, union.group_a, name="王芳", employee_no="E0001", phone="13900001111")
    token = api_login(client, emu, "wx-colleague")
    response = bind(
        client,
        token,
        name="王芳",
        employee_no="E0001",
        phone_code=emu.phone_code("wx-colleague", "13700002222"),
    )
    assert response.status_code == 409 and response.get_json()["error"] == "binding_mismatch"
    assert count(app, BindingFailure, BindingFailure.member_id == member_id) == 1
    assert account(app, "wx-colleague").member_id is None


def test_a_row_without_a_phone_binds_by_name_and_employee_no_and_waits_for_staff(app, client, emu, union):
    member_id = make_member(app, union.group_a, name="赵六", employee_no="E0002", phone=None)
    token = api_login(client, emu, "wx-zhaoliu")
    response = bind(client, token, name="赵六", employee_no="E0002")
    assert response.status_code == 200 and response.get_json()["status"] == "active"
    bound = account(app, "wx-zhaoliu")
    assert bound.member_id == member_id and bound.binding_proof is None
    assert bound.binding_awaits_confirmation


def test_binding_require_phone_asks_everyone_for_a_phone(app, client, emu, union, monkeypatch):
    monkeypatch.setitem(app.config, "BINDING_REQUIRE_PHONE", True)
    member_id = make_member(app, union.group_a, name="赵六", employee_no="E0002", phone=None)
    token = api_login(client, emu, "wx-zhaoliu")
    assert bind(client, token, name="赵六", employee_no="E0002").get_json()["error"] == "phone_required"
    newcomer = api_login(client, emu, "wx-newcomer")
    assert bind(client, newcomer, name="新人", employee_no="N0001").get_json()["error"] == "phone_required"

    code = emu.phone_code("wx-zhaoliu", "13600003333")
    response = bind(client, token, name="赵六", employee_no="E0002", phone_code=code)
    assert response.status_code == 200 and response.get_json()["status"] == "active"
    # The row keeps the verified number; who holds it is still for staff to confirm.
    assert get(app, Member, member_id).phone == "13600003333"
    assert account(app, "wx-zhaoliu").binding_awaits_confirmation


def test_binding_attempts_are_counted_per_account_not_per_token(app, client, emu, union, monkeypatch):
    monkeypatch.setitem(app.config, "BINDING_RATE_LIMIT", "3 per hour")
    make_member(app, union.group_a, name="王芳", employee_no="E0001", phone="13900001111")
    for _ in range(3):
        token = api_login(client, emu, "wx-guesser")  # a fresh token each time
        assert bind(client, token, name="王芳", employee_no="E0001").status_code == 422
    token = api_login(client, emu, "wx-guesser")
    response = bind(client, token, name="王芳", employee_no="E0001")
    assert response.status_code == 429 and response.get_json()["error"] == "rate_limited"
    # Another account is not held back by the guesser's count.
    other = api_login(client, emu, "wx-other")
    assert bind(client, other, name="王芳", employee_no="E0001").status_code == 422


def _wrong_names(client, emu, employee_no: str, times: int, phone: str | None = None) -> None:
    """`times` accounts each try the 工号 with a wrong name (and a verified phone of their own)."""
    for n in range(times):
        openid = f"wx-attacker-{n}"
        token = api_login(client, emu, openid)
        body = {"name": f"猜{n}", "employee_no": employee_no}
        if phone:
            body["phone_code"] = emu.phone_code(openid, phone)
        assert bind(client, token, **body).get_json()["error"] == "binding_mismatch"


def test_past_the_failure_limit_name_and_employee_no_no_longer_bind(app, client, emu, union, monkeypatch):
    monkeypatch.setitem(app.config, "BINDING_FAILURE_LIMIT", 3)
    member_id = make_member(app, union.group_a, name="赵六", employee_no="E0002", phone=None)
    _wrong_names(client, emu, "E0002", 3)
    assert count(app, BindingFailure, BindingFailure.member_id == member_id) == 3

    # The fourth guess would be right: it is refused, like the name + 工号 of anyone else today.
    token = api_login(client, emu, "wx-lucky-guess")
    response = bind(client, token, name="赵六", employee_no="E0002")
    body = response.get_json()
    assert response.status_code == 429 and body["error"] == "rate_limited"
    assert "联系工会" in body["message"]
    assert account(app, "wx-lucky-guess").member_id is None


def test_failures_before_today_do_not_count(app, client, emu, union, monkeypatch):
    monkeypatch.setitem(app.config, "BINDING_FAILURE_LIMIT", 2)
    member_id = make_member(app, union.group_a, name="赵六", employee_no="E0002", phone=None)
    with app.app_context(), unit_of_work():
        for _ in range(2):
            db.session.add(
                BindingFailure(member_id=member_id, reason="name", created_at=utcnow() - timedelta(days=1))
            )
    token = api_login(client, emu, "wx-zhaoliu")
    assert bind(client, token, name="赵六", employee_no="E0002").status_code == 200


def test_nobody_can_lock_the_real_member_out(app, client, emu, union, monkeypatch):
    monkeypatch.setitem(app.config, "BINDING_FAILURE_LIMIT", 3)
    member_id = make_member(app, union.group_a, name="王芳", employee_no="E0001", phone="13900001111")
    _wrong_names(client, emu, "E0001", 5, phone="13700002222")
    assert count(app, BindingFailure, BindingFailure.member_id == member_id) == 5

    token = api_login(client, emu, "wx-wangfang")
    code = emu.phone_code("wx-wangfang", "13900001111")
    response = bind(client, token, name="王芳", employee_no="E0001", phone_code=code)
    assert response.status_code == 200 and response.get_json()["status"] == "active"


def test_export_shows_the_phone_only_once_the_binding_is_proved(app, client, emu, union):
    member_id = make_member(app, union.group_a, name="赵六", employee_no="E0002", phone=None)
    token = api_login(client, emu, "wx-zhaoliu")
    assert bind(client, token, name="赵六", employee_no="E0002").status_code == 200
    with app.app_context(), unit_of_work():
        member = db.session.get(Member, member_id)
        fields = {"name": member.name, "employee_no": member.employee_no, "birthday": None, "joined_on": None}
        update_member(member, staff=None, phone="13500004444", **fields)

    exported = client.get("/api/v1/me/export", headers=auth(token)).get_json()["member"]
    assert exported["phone"] != "13500004444" and exported["phone"].startswith("135")
    assert "****" in exported["phone"] and exported["binding_proof"] is None

    with app.app_context(), unit_of_work():
        wechat = db.session.get(Member, member_id).wechat_account
        wechat.binding_proof = BindingProof.staff
        wechat.binding_confirmed_at = utcnow()
    exported = client.get("/api/v1/me/export", headers=auth(token)).get_json()["member"]
    assert exported["phone"] == "13500004444" and exported["binding_proof"] == "staff"


def test_a_member_bound_with_the_matching_phone_exports_it(app, client, emu, union):
    make_member(app, union.group_a, name="王芳", employee_no="E0001", phone="13900001111")
    token = api_login(client, emu, "wx-wangfang")
    code = emu.phone_code("wx-wangfang", "13900001111")
    assert bind(client, token, name="王芳", employee_no="E0001", phone_code=code).status_code == 200
    exported = client.get("/api/v1/me/export", headers=auth(token)).get_json()["member"]
    assert exported["phone"] == "13900001111" and exported["binding_proof"] == "phone"
