"""修改密码: a staff member changes their own password; other sessions end; guesses are throttled."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.staff.models import Role
from tests.admin.conftest import assert_html_error, csrf_token, html
from tests.factories import PASSWORD, make_staff, staff_login

NEW = "a-brand-new-secret"


def change(client, current=PASSWORD, new=NEW, confirm=None, **extra):
    data = {"current_password": current, "password": new, "confirm": new if confirm is None else confirm}
    return client.post("/admin/password", data={**data, "csrf_token": csrf_token(client), **extra})


@pytest.fixture
def alice(app, union, client):
    staff_id = make_staff(app, Role.officer, union.branch_a, username="alice")
    assert staff_login(client, "alice").status_code == 302
    return staff_id


def audit_actions(app, staff_id):
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(AuditLog.action).where(AuditLog.actor_staff_id == staff_id).order_by(AuditLog.id)
            )
        )


def test_top_bar_links_to_the_page_for_every_role(app, client, union, login_as):
    for role in Role:
        browser = app.test_client()
        login_as(role, union.root, on=browser)
        top_bar = html(browser.get("/admin/")).split('<header class="topbar">')[1].split("</header>")[0]
        assert 'href="/admin/password"' in top_bar and "修改密码" in top_bar
        page = browser.get("/admin/password")
        assert page.status_code == 200
        assert all(label in html(page) for label in ("当前密码", "新密码", "再输入一次"))


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/password")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_change_keeps_this_session_and_ends_the_others(app, client, union, alice):
    other = app.test_client()
    assert staff_login(other, "alice").status_code == 302
    assert other.get("/admin/").status_code == 200

    response = change(client)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert "其他电脑或浏览器上的登录已全部退出" in html(client.get("/admin/"))
    assert client.get("/admin/members/").status_code == 200
    ended = other.get("/admin/")
    assert ended.status_code == 302 and "/admin/login" in ended.headers["Location"]

    assert staff_login(app.test_client(), "alice", PASSWORD).status_code == 200
    assert staff_login(app.test_client(), "alice", NEW).status_code == 302
    assert "staff.password_change" in audit_actions(app, alice)


def test_wrong_current_password_shows_the_form_again_and_is_audited(app, client, union, alice):
    response = change(client, current="not-my-password")
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert "当前密码不正确" in html(response) and 'name="current_password"' in html(response)
    assert staff_login(app.test_client(), "alice", PASSWORD).status_code == 302
    assert staff_login(app.test_client(), "alice", NEW).status_code == 200
    assert "staff.password_change_failed" in audit_actions(app, alice)
    assert "staff.password_change" not in audit_actions(app, alice)


def test_wrong_guesses_are_throttled_like_the_login(app, client, union, alice):
    for _ in range(5):
        assert change(client, current="guess").status_code == 422
    body = assert_html_error(change(client), 429)
    assert "操作太频繁" in body
    assert staff_login(app.test_client(), "alice", NEW).status_code == 200  # the right one did not get in


def test_guesses_are_counted_per_staff_member_across_addresses(app, client, union, alice):
    for n in range(5):
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n + 1}"
        assert change(client, current="guess").status_code == 422
    client.environ_base["REMOTE_ADDR"] = "10.0.0.99"
    assert change(client).status_code == 429


def test_guesses_are_counted_per_address_across_accounts(app, union, login_as):
    browsers = [app.test_client() for _ in range(6)]
    for browser in browsers:
        login_as(Role.officer, union.branch_a, on=browser)
    for browser in browsers[:5]:
        assert change(browser, current="guess").status_code == 422
    assert change(browsers[5]).status_code == 429


def test_only_wrong_current_passwords_use_up_the_limit(app, client, union, alice):
    for _ in range(6):
        response = change(client, confirm="something-else")
        assert response.status_code == 422 and "两次输入的密码不一致" in html(response)
    assert change(client).status_code == 302


@pytest.mark.parametrize(
    ("new", "confirm", "message"),
    [
        ("short", "short", "密码至少 8 位"),
        (NEW, "different-one", "两次输入的密码不一致"),
        (PASSWORD, PASSWORD, "新密码不能与当前密码相同"),
        ("", "", "请填写密码"),
    ],
)
def test_new_password_follows_the_staff_password_rule(app, client, union, alice, new, confirm, message):
    response = change(client, new=new, confirm=confirm)
    assert response.status_code == 422 and message in html(response)
    assert staff_login(app.test_client(), "alice", PASSWORD).status_code == 302


def test_post_without_csrf_token_changes_nothing(app, client, union, alice):
    data = {"current_password": PASSWORD, "password": NEW, "confirm": NEW}
    assert_html_error(client.post("/admin/password", data=data), 400)
    assert client.get("/admin/").status_code == 200
    assert staff_login(app.test_client(), "alice", PASSWORD).status_code == 302
