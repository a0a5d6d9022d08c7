"""Every non-success under /api/ and /wechat/ has API.md's JSON error shape; no input gives a 500."""

from __future__ import annotations

import pytest

from backend import create_app
from tests.conftest import app_settings
from tests.factories import api_login, auth, staff_login

SHAPE = {"code", "status", "error", "message"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) >= SHAPE, body
    assert body["code"] == status and body["error"] == code
    assert body["message"] and not body["message"].isascii(), "message must be Chinese for a worker"
    return body


def test_unknown_api_path_is_json_404(client):
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_unknown_wechat_path_is_json_404(client):
    assert_error(client.get("/wechat/nothing-here"), 404, "not_found")


def test_wrong_method_is_json_405(client):
    body = assert_error(client.delete("/api/v1/config"), 405, "method_not_allowed")
    assert body["status"] == "Method Not Allowed"


def test_malformed_json_is_400_not_500(client):
    response = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    assert_error(response, 400, "bad_request")


def test_wrong_types_are_422_with_field_errors(client):
    body = assert_error(client.post("/api/v1/auth/login", json={"code": ["x"]}), 422, "validation_error")
    assert "code" in body["errors"]


def test_unknown_fields_are_refused(client, emu):
    token = api_login(client, emu, "wx-1")
    response = client.post(
        "/api/v1/me/binding", json={"name": "a", "employee_no": "b", "status": "active"}, headers=auth(token)
    )
    body = assert_error(response, 422, "validation_error")
    assert body["errors"]["status"] == ["不支持的字段"]


def test_body_too_large_is_413(client):
    response = client.post(
        "/api/v1/auth/login", data=b"x" * (13 * 1024 * 1024), content_type="application/json"
    )
    assert_error(response, 413, "too_large")


def test_login_is_rate_limited_with_429(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    statuses = [client.post("/api/v1/auth/login", json={"code": "x"}).status_code for _ in range(4)]
    assert statuses[:3] == [400, 400, 400]
    assert_error(client.post("/api/v1/auth/login", json={"code": "x"}), 429, "rate_limited")


def test_a_bug_is_a_json_500_without_traceback(emulator, tmp_path_factory):
    app = create_app(app_settings(emulator, tmp_path_factory, SQLALCHEMY_DATABASE_URI="sqlite://"))

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/api/v1/boom")
    body = assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert body["status"] == "Internal Server Error"


def test_admin_errors_are_html_pages(client):
    response = client.get("/admin/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "内容不存在" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/healthz", "/readyz", "/api/v1/readyz"])
def test_health_endpoints(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_readyz_is_503_when_redis_is_unreachable(app, client):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    try:
        body = assert_error(client.get("/readyz"), 503, "not_ready")
        assert body["checks"]["database"] == "ok" and body["checks"]["redis"].startswith("error")
    finally:
        app.config["REDIS_URL"] = None


@pytest.mark.parametrize(
    "raw",
    [
        '{"code": "\\ud800"}',  # a lone surrogate: valid JSON, not encodable as UTF-8
        '{"code": "a\\u0000b"}',  # NUL: PostgreSQL text cannot hold it
        '{"\\ud800": "x"}',  # in a field name, which a 422 would echo back
        '{"code": "ok", "extra": [{"deep": "\\u0000"}]}',
    ],
)
def test_text_no_column_can_hold_is_a_400_in_chinese(client, raw):
    response = client.post("/api/v1/auth/login", data=raw, content_type="application/json")
    body = response.get_json()
    assert response.status_code == 400 and body["error"] == "invalid_characters"
    assert "无法识别的字符" in body["message"]


def test_nul_in_a_query_string_or_an_admin_form_is_refused_too(client):
    assert client.get("/api/v1/announcements?category=a%00b").get_json()["error"] == "invalid_characters"
    page = staff_login(client, "a\x00b", "whatever-1")  # with the form's CSRF token
    assert page.status_code == 400 and "无法识别的字符" in page.get_data(as_text=True)
