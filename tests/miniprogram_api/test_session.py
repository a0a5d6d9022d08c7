"""Login, logout, /me and binding, through the WeChat emulator over HTTP."""

from __future__ import annotations

import time
from collections import Counter

from backend.audit.models import AuditLog
from backend.members.models import ApiToken, JoinRequest, Member, WechatAccount
from tests.factories import api_login, auth, bound_member, count, get, make_member, make_union


def test_login_creates_account_and_me_says_unbound(app, client, emu):
    token = api_login(client, emu, "wx-user-1")
    me = client.get("/api/v1/me", headers=auth(token)).get_json()
    assert me["status"] == "unbound"
    assert me["name"] is None and me["employee_no"] is None and me["group"] is None
    assert count(app, WechatAccount) == 1


def test_login_answer_shape(client, emu):
    body = client.post("/api/v1/auth/login", json={"code": emu.login_code("wx-1")}).get_json()
    assert set(body) == {"token", "expires_at", "member"}
    assert len(body["token"]) >= 32
    assert body["expires_at"].endswith("+08:00")
    assert "session_key" not in str(body)


def test_same_code_twice_is_invalid_code(client, emu):
    code = emu.login_code("wx-1")
    assert client.post("/api/v1/auth/login", json={"code": code}).status_code == 200
    response = client.post("/api/v1/auth/login", json={"code": code})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_code"
    assert response.get_json()["message"]


def test_made_up_code_is_invalid_code(client, emu):
    response = client.post("/api/v1/auth/login", json={"code": "not-a-real-code"})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_code"


def test_risky_user_is_refused(client, emu):
    emu.post("users", openid="wx-risky", risky=True)
    response = client.post("/api/v1/auth/login", json={"code": emu.login_code("wx-risky")})
    assert response.status_code == 403 and response.get_json()["error"] == "wechat_risky_user"


def test_wechat_rate_limit_is_429(client, emu):
    code = emu.login_code("wx-1")
    emu.fault("sns/jscode2session", errcode=45011, times=1)
    response = client.post("/api/v1/auth/login", json={"code": code})
    assert response.status_code == 429 and response.get_json()["error"] == "rate_limited"


def test_wechat_unreachable_is_503_within_five_seconds(client, emu):
    code = emu.login_code("wx-1")
    emu.fault("sns/jscode2session", drop=True, times=100)
    started = time.monotonic()
    response = client.post("/api/v1/auth/login", json={"code": code})
    elapsed = time.monotonic() - started
    assert response.status_code == 503 and response.get_json()["error"] == "wechat_unavailable"
    assert elapsed < 5.5


def test_made_up_token_is_401(client):
    response = client.get("/api/v1/me", headers=auth("made-up-token"))
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_missing_token_is_401(client):
    assert client.get("/api/v1/me").status_code == 401


def test_logout_revokes_the_token(client, emu):
    token = api_login(client, emu, "wx-1")
    assert client.post("/api/v1/auth/logout", headers=auth(token)).status_code == 204
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 401


def test_token_is_stored_hashed(app, client, emu):
    token = api_login(client, emu, "wx-1")
    with app.app_context():
        import sqlalchemy as sa

        from backend.extensions import db

        stored = db.session.scalars(sa.select(ApiToken.token_hash)).all()
    assert token not in stored and len(stored) == 1


def test_bind_to_roster_member_makes_active(app, client, emu):
    union = make_union(app)
    member_id = make_member(app, union.group_a, name="王芳", employee_no="E0001")
    token = api_login(client, emu, "wx-1")
    phone_code = emu.phone_code("wx-1", get(app, Member, member_id).phone)
    response = client.post(
        "/api/v1/me/binding",
        json={"name": "王芳", "employee_no": "e0001", "phone_code": phone_code},
        headers=auth(token),
    )
    assert response.status_code == 200, response.get_json()
    me = response.get_json()
    assert me["status"] == "active" and me["name"] == "王芳" and me["employee_no"] == "E0001"
    assert me["group"]["name"] == "甲一组"
    assert me["group"]["path"] == "测试公司工会 / 甲分会 / 甲一组"
    assert me["phone_masked"].startswith("138") and "****" in me["phone_masked"]
    assert get(app, Member, member_id).status.value == "active"
    assert count(app, AuditLog, AuditLog.action == "member.bind") == 1


def test_bind_with_phone_code_must_match_roster_phone(app, client, emu):
    union = make_union(app)
    make_member(app, union.group_a, name="王芳", employee_no="E0001", phone="13900001111")
    token = api_login(client, emu, "wx-1")
    wrong = emu.phone_code("wx-1", "13900002222")
    response = client.post(
        "/api/v1/me/binding",
        json={"name": "王芳", "employee_no": "E0001", "phone_code": wrong},
        headers=auth(token),
    )
    assert response.status_code == 409 and response.get_json()["error"] == "binding_mismatch"
    right = emu.phone_code("wx-1", "13900001111")
    response = client.post(
        "/api/v1/me/binding",
        json={"name": "王芳", "employee_no": "E0001", "phone_code": right},
        headers=auth(token),
    )
    assert response.status_code == 200 and response.get_json()["status"] == "active"


def test_wrong_name_for_employee_no_is_refused_not_filed(app, client, emu):
    union = make_union(app)
    member_id = make_member(app, union.group_a, name="王芳", employee_no="E0001")
    token = api_login(client, emu, "wx-1")
    phone_code = emu.phone_code("wx-1", get(app, Member, member_id).phone)
    response = client.post(
        "/api/v1/me/binding",
        json={"name": "李四", "employee_no": "E0001", "phone_code": phone_code},
        headers=auth(token),
    )
    assert response.status_code == 409 and response.get_json()["error"] == "binding_mismatch"
    assert count(app, JoinRequest) == 0


def test_second_account_cannot_take_a_bound_member(app, client, emu):
    union = make_union(app)
    member_id, _ = bound_member(app, client, emu, union.group_a, openid="wx-first")
    member = get(app, Member, member_id)
    token = api_login(client, emu, "wx-second")
    response = client.post(
        "/api/v1/me/binding",
        json={
            "name": member.name,
            "employee_no": member.employee_no,
            "phone_code": emu.phone_code("wx-second", member.phone),
        },
        headers=auth(token),
    )
    assert response.status_code == 409 and response.get_json()["error"] == "employee_already_bound"


def test_unknown_worker_files_a_join_request(app, client, emu):
    union = make_union(app)
    token = api_login(client, emu, "wx-new")
    response = client.post(
        "/api/v1/me/binding",
        json={"name": "新人", "employee_no": "N9999", "group_id": union.group_b},
        headers=auth(token),
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "pending"
    # Sending it again corrects the pending request instead of queueing another.
    client.post("/api/v1/me/binding", json={"name": "新人", "employee_no": "N9998"}, headers=auth(token))
    assert count(app, JoinRequest) == 1


def test_binding_validation_errors_are_chinese(client, emu):
    token = api_login(client, emu, "wx-1")
    response = client.post("/api/v1/me/binding", json={"employee_no": 5}, headers=auth(token))
    body = response.get_json()
    assert response.status_code == 422 and body["error"] == "validation_error"
    assert body["errors"]["name"] == ["此项必填"]


def test_a_thousand_workers_behind_one_address_log_in_at_shift_change(app, client, emu):
    # Factory Wi-Fi or carrier NAT: every worker of the plant comes from one public address, and they
    # all open the mini-program within the same minute. Each code is single-use and checked by WeChat.
    codes = [emu.login_code(f"wx-worker-{n}") for n in range(1000)]
    plant = {"REMOTE_ADDR": "203.0.113.7"}
    statuses = Counter(
        client.post("/api/v1/auth/login", json={"code": code}, environ_base=plant).status_code
        for code in codes
    )
    assert statuses == {200: 1000}
    assert count(app, WechatAccount) == 1000
