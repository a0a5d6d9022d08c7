"""Signing in and out: throttling, CSRF, safe redirects, sessions that end when they should."""

from __future__ import annotations

import sqlalchemy as sa

from admin import sessions
from backend.audit.models import AuditLog
from backend.db import unit_of_work
from backend.extensions import db
from backend.staff.models import Role, Staff
from backend.staff.operations import set_password
from tests.admin.conftest import assert_html_error, csrf_token, html, post
from tests.factories import PASSWORD, change_staff, count, make_staff, staff_login


def disable(app, staff_id: int, union) -> None:
    """An admin of the whole union disables the account (as the 后台账号 page does)."""
    change_staff(app, staff_id, is_enabled=False, by=make_staff(app, Role.admin, union.root))


def test_login_page_is_chinese_and_has_csrf(client):
    response = client.get("/admin/login")
    assert response.status_code == 200
    assert "登录工会管理后台" in html(response)
    assert 'name="csrf_token"' in html(response)


def test_anonymous_is_sent_to_login_with_a_message(client, union):
    response = client.get("/admin/members/?q=x")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")
    page = client.get(response.headers["Location"])
    assert "请先登录管理后台" in html(page)


def test_login_success_goes_to_dashboard_and_is_audited(app, client, union):
    make_staff(app, Role.officer, union.branch_a, username="alice")
    response = staff_login(client, "alice")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200 and "工作台" in html(page) and "工会干事" in html(page)
    assert count(app, AuditLog, AuditLog.action == "staff.login") == 1
    with app.app_context():
        assert db.session.scalar(sa.select(Staff.last_login_at).where(Staff.username == "alice"))


def test_login_username_is_case_insensitive(app, client, union):
    make_staff(app, Role.officer, union.branch_a, username="alice")
    assert staff_login(client, "ALICE").status_code == 302


def test_login_failure_shows_message_and_is_audited(app, client, union):
    make_staff(app, Role.officer, union.branch_a, username="alice")
    response = staff_login(client, "alice", "wrong-password")
    assert response.status_code == 200
    assert "登录名或密码不正确" in html(response)
    assert count(app, AuditLog, AuditLog.action == "staff.login_failed") == 1
    assert client.get("/admin/").status_code == 302


def test_disabled_account_cannot_log_in(app, client, union):
    disable(app, make_staff(app, Role.officer, union.branch_a, username="alice"), union)
    assert staff_login(client, "alice").status_code == 200


def test_empty_form_is_refused_in_chinese(client):
    response = client.post("/admin/login", data={"csrf_token": csrf_token(client, "/admin/login")})
    assert "请填写登录名" in html(response) and "请填写密码" in html(response)


def test_login_without_csrf_token_is_an_html_400(app, client, union):
    make_staff(app, Role.officer, union.branch_a, username="alice")
    response = client.post("/admin/login", data={"username": "alice", "password": PASSWORD})
    body = assert_html_error(response, 400)
    assert "页面已过期" in body
    assert client.get("/admin/").status_code == 302


def test_form_post_without_csrf_token_is_refused(app, client, union, login_as):
    login_as(Role.chair, union.root)
    response = client.post(f"/admin/groups/{union.branch_a}/rename", data={"name": "改了"})
    assert_html_error(response, 400)
    response = client.post(
        f"/admin/groups/{union.branch_a}/rename", data={"name": "改了", "csrf_token": "forged"}
    )
    assert_html_error(response, 400)


def test_throttle_per_address_gives_chinese_429_page(app, client, union):
    for n in range(5):
        assert staff_login(client, f"nobody{n}", "x").status_code == 200
    response = staff_login(client, "nobody-else", "x")
    body = assert_html_error(response, 429)
    assert "登录尝试次数过多" in body
    assert "Retry-After" in response.headers


def at(app, address: str):
    """A browser at this address (TRUSTED_PROXIES is 0 here: REMOTE_ADDR is the client's address)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_an_address_that_guessed_is_throttled_but_the_account_is_not_locked_everywhere(app, union):
    make_staff(app, Role.chair, union.root, username="chair")
    guesser = at(app, "10.0.0.1")
    for _ in range(5):
        assert staff_login(guesser, "chair", "guess").status_code == 200
    # The guessing address is throttled, even with the right password …
    assert_html_error(staff_login(guesser, "chair"), 429)
    # … but the chair, from another computer, still signs in …
    assert staff_login(at(app, "10.0.0.2"), "chair").status_code == 302
    # … and a guess from that other address is throttled at once: the account has no failures left.
    response = staff_login(at(app, "10.0.0.2"), "chair", "guess")
    assert "登录尝试次数过多" in assert_html_error(response, 429)
    assert "Retry-After" in response.headers


def test_guesses_spread_over_addresses_get_one_try_per_address(app, union):
    make_staff(app, Role.officer, union.branch_a, username="alice")
    for n in range(5):
        assert staff_login(at(app, f"10.0.0.{n + 1}"), "alice", "guess").status_code == 200
    newcomer = at(app, "10.0.0.50")
    assert staff_login(newcomer, "alice", "guess").status_code == 429  # wrong: refused, counted
    assert staff_login(newcomer, "alice").status_code == 429  # that address has no try left
    assert staff_login(at(app, "10.0.0.51"), "alice").status_code == 302  # the owner's computer
    # Other accounts are not affected by alice's failures.
    make_staff(app, Role.officer, union.branch_a, username="bob")
    assert staff_login(at(app, "10.0.0.52"), "bob", "typo").status_code == 200


def test_successful_logins_do_not_use_up_the_limit(app, union):
    make_staff(app, Role.officer, union.branch_a, username="alice")
    for _ in range(8):
        assert staff_login(app.test_client(), "alice").status_code == 302


def test_logout_needs_post_with_csrf_and_ends_the_session(app, client, union, login_as):
    login_as(Role.officer, union.branch_a)
    assert client.get("/admin/logout").status_code == 405
    assert_html_error(client.post("/admin/logout"), 400)
    assert client.get("/admin/").status_code == 200
    response = post(client, "/admin/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login"
    assert client.get("/admin/").status_code == 302


def test_a_copy_of_the_cookie_stops_working_at_logout(app, client, union, login_as):
    login_as(Role.officer, union.branch_a)
    captured = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", captured)
    assert thief.get("/admin/").status_code == 200  # the copy works while the session lasts
    post(client, "/admin/logout")
    thief = app.test_client()
    thief.set_cookie("session", captured)
    response = thief.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


def shift_session(client, *, idle_minutes: float = 0, age_hours: float = 0) -> None:
    """As if the last request was `idle_minutes` ago and the login `age_hours` ago."""
    with client.session_transaction() as session:
        session[sessions.SEEN_AT] -= idle_minutes * 60
        session[sessions.LOGIN_AT] -= age_hours * 3600


def test_an_idle_session_ends_after_the_idle_limit(app, client, union, login_as):
    assert app.config["ADMIN_SESSION_IDLE_MINUTES"] == 30
    login_as(Role.officer, union.branch_a)
    shift_session(client, idle_minutes=29, age_hours=0.5)
    assert client.get("/admin/").status_code == 200
    shift_session(client, idle_minutes=31, age_hours=0.6)
    response = client.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


def test_each_request_restarts_the_idle_time(app, client, union, login_as):
    login_as(Role.officer, union.branch_a)
    for _ in range(3):  # 3 × 20 minutes of work, never 30 minutes idle
        shift_session(client, idle_minutes=20, age_hours=1 / 3)
        assert client.get("/admin/").status_code == 200


def test_a_busy_session_still_ends_after_the_absolute_limit(app, client, union, login_as):
    assert app.config["ADMIN_SESSION_MAX_HOURS"] == 12
    login_as(Role.officer, union.branch_a)
    shift_session(client, age_hours=11.9)
    assert client.get("/admin/").status_code == 200
    shift_session(client, age_hours=0.2)
    assert client.get("/admin/").status_code == 302


def test_the_session_limits_come_from_the_settings(app, client, union, login_as, monkeypatch):
    login_as(Role.officer, union.branch_a)
    monkeypatch.setitem(app.config, "ADMIN_SESSION_IDLE_MINUTES", 5)
    shift_session(client, idle_minutes=6)
    assert client.get("/admin/").status_code == 302


def test_a_session_without_login_times_is_signed_out(app, client, union, login_as):
    login_as(Role.officer, union.branch_a)
    with client.session_transaction() as session:
        del session[sessions.LOGIN_AT]
    assert client.get("/admin/").status_code == 302


def test_session_is_permanent_with_a_lifetime(app, client, union):
    make_staff(app, Role.officer, union.branch_a, username="alice")
    response = staff_login(client, "alice")
    cookie = response.headers["Set-Cookie"]
    assert "Expires=" in cookie and "HttpOnly" in cookie


def test_next_is_followed_only_for_local_paths(app, client, union):
    make_staff(app, Role.officer, union.branch_a, username="alice")
    token = csrf_token(client, "/admin/login")
    data = {"username": "alice", "password": PASSWORD, "csrf_token": token}
    response = client.post("/admin/login?next=/admin/members/", data=data)
    assert response.headers["Location"] == "/admin/members/"
    evils = ("//evil.example/x", "https://evil.example", "/\\evil.example", "/\t/evil.example", "javascript:")
    for evil in evils:
        post(client, "/admin/logout")
        token = csrf_token(client, "/admin/login")
        data["csrf_token"] = token
        response = client.post("/admin/login", query_string={"next": evil}, data=data)
        assert response.headers["Location"] == "/admin/", evil


def test_password_change_ends_open_sessions(app, client, union, login_as):
    staff_id = login_as(Role.officer, union.branch_a)
    assert client.get("/admin/").status_code == 200
    with app.app_context(), unit_of_work():
        staff = db.session.get(Staff, staff_id)
        set_password(staff, "a-new-password", by=staff)
    assert client.get("/admin/").status_code == 302


def test_disabling_ends_open_sessions(app, client, union, login_as):
    disable(app, login_as(Role.officer, union.branch_a), union)
    assert client.get("/admin/").status_code == 302


def test_session_of_a_disabled_account_ends_even_with_an_unchanged_version(app, client, union, login_as):
    staff_id = login_as(Role.officer, union.branch_a)
    with app.app_context(), unit_of_work():
        db.session.get(Staff, staff_id).is_enabled = False
    assert client.get("/admin/").status_code == 302


def test_garbled_session_user_id_is_anonymous(app, client, union):
    with client.session_transaction() as session:
        session["_user_id"] = "not-a-number"
    assert client.get("/admin/").status_code == 302


def test_an_unknown_username_costs_a_password_hash_like_a_wrong_password(app, client, union, monkeypatch):
    """Without the dummy hash an unknown username answers faster, telling which usernames exist."""
    import hashlib

    make_staff(app, Role.officer, union.branch_a, username="alice")
    derivations = []
    for name in ("scrypt", "pbkdf2_hmac"):
        real = getattr(hashlib, name)
        monkeypatch.setattr(
            hashlib, name, lambda *a, _real=real, **k: derivations.append(1) or _real(*a, **k)
        )

    staff_login(client, "alice", password="wrong-password-1")
    known = len(derivations)
    staff_login(client, "nobody-here", password="wrong-password-1")
    assert known == 1 and len(derivations) - known == 1
