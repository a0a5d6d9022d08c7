"""Admin test helpers: sign in as a role, post forms with the CSRF token, read pages as text."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from backend.extensions import db
from backend.members.models import JoinRequest, WechatAccount
from tests.factories import api_login, auth, make_staff, staff_login

_names = itertools.count(1)


def html(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def csrf_token(client: FlaskClient, page: str = "/admin/") -> str:
    """The session's CSRF token, read from a page (every signed-in page has the logout form)."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html(client.get(page)))
    assert match, "no CSRF token on " + page
    return match.group(1)


def post(client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> TestResponse:
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client)}, **kwargs)


def assert_html_error(response: TestResponse, status: int) -> str:
    assert response.status_code == status, (response.status_code, html(response)[:500])
    assert response.mimetype == "text/html"
    body = html(response)
    assert "Traceback" not in body and '"error"' not in body
    assert "工会管理后台" in body
    return body


def file_join_request(
    app: Flask, client: FlaskClient, emu: Any, group_id: int | None, employee_no: str = "NEW001", **extra: Any
) -> int:
    """A worker not on the roster logs in and binds: that files a join request. Returns its id."""
    openid = f"openid-{employee_no}"
    token = api_login(client, emu, openid)
    body: dict[str, Any] = {"name": "申请人", "employee_no": employee_no, "group_id": group_id, **extra}
    response = client.post("/api/v1/me/binding", json=body, headers=auth(token))
    assert response.status_code == 200 and response.get_json()["status"] == "pending", response.get_json()
    with app.app_context():
        return db.session.scalar(
            sa.select(JoinRequest.id).join(JoinRequest.wechat_account).where(WechatAccount.openid == openid)
        )


@pytest.fixture
def login_as(app: Flask, client: FlaskClient) -> Callable[..., int]:
    """Creates a staff account with this role and scope, signs `client` in, returns the staff id."""

    def _login(role: str, scope_id: int, *, on: FlaskClient | None = None) -> int:
        username = f"{role}{next(_names)}"
        staff_id = make_staff(app, role, scope_id, username=username)
        response = staff_login(on or client, username)
        assert response.status_code == 302, html(response)
        return staff_id

    return _login
