"""Bodies the parsers trip over are a 400, never a 500: a multipart part without a name (at any URL),
JSON nested absurdly deep, an integer literal longer than Python converts. JSON under /api/, /wechat/
and the health checks; an HTML page in the admin."""

from __future__ import annotations

import pytest

from backend.input_guard import MAX_JSON_DEPTH
from tests.admin.conftest import assert_html_error
from tests.backend.wechat.pushes import TOKEN, signed
from tests.factories import api_login, auth
from tests.miniprogram_api.test_errors import assert_error

NAMELESS_FIELD = b"--XX\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--XX--\r\n"
NAMELESS_FILE = (
    b'--XX\r\nContent-Disposition: form-data; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    b"%PDF-1.4\r\n--XX--\r\n"
)
MULTIPART = "multipart/form-data; boundary=XX"

DEEP_ARRAY = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
HUGE_INT = "1" * 4301  # one digit past sys.get_int_max_str_digits()


@pytest.fixture
def callback_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_TOKEN", TOKEN)


@pytest.mark.parametrize("body", [NAMELESS_FIELD, NAMELESS_FILE], ids=["field", "file"])
@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/api/v1/auth/login", "/api/v1/uploads", "/x"])
def test_a_multipart_part_without_a_name_is_a_json_400(client, path, body):
    response = client.post(path, data=body, content_type=MULTIPART)
    if path == "/x":  # outside the API and the admin: the plain HTML error page
        assert response.status_code == 400 and response.mimetype == "text/html"
    else:
        assert_error(response, 400, "bad_request")


def test_a_multipart_part_without_a_name_is_a_json_400_for_a_member_too(app, client, emu):
    token = api_login(client, emu, "wx-nameless")
    for path in ("/api/v1/uploads", "/api/v1/me/binding"):
        response = client.post(path, data=NAMELESS_FILE, content_type=MULTIPART, headers=auth(token))
        assert_error(response, 400, "bad_request")


def test_a_multipart_part_without_a_name_is_an_html_400_in_the_admin(client):
    for path in ("/admin/login", "/admin/roster/check"):
        body = assert_html_error(client.post(path, data=NAMELESS_FIELD, content_type=MULTIPART), 400)
        assert "请求格式有误" in body


@pytest.mark.parametrize(
    "raw",
    [
        DEEP_ARRAY,
        DEEP_OBJECT,
        '{"code": ' + "[" * 1000 + "]" * 1000 + "}",
        '{"code": ' + HUGE_INT + "}",
        '{"code": -' + HUGE_INT + "}",
        "[" + HUGE_INT + "]",
    ],
    ids=["deep-array", "deep-object", "deep-field", "huge-int", "huge-negative-int", "huge-int-in-array"],
)
def test_json_the_parser_trips_over_is_a_json_400(client, raw):
    for path in ("/api/v1/auth/login", "/healthz"):
        assert_error(client.post(path, data=raw, content_type="application/json"), 400, "bad_request")


def test_json_the_parser_trips_over_is_a_json_400_for_a_member_too(app, client, emu):
    token = api_login(client, emu, "wx-deep")
    for raw in (DEEP_OBJECT, '{"name": "张三", "employee_no": ' + HUGE_INT + "}"):
        response = client.post(
            "/api/v1/me/binding", data=raw, content_type="application/json", headers=auth(token)
        )
        assert_error(response, 400, "bad_request")


def test_json_nested_deeper_than_any_body_of_the_api_is_refused_and_shallower_is_not(client):
    def login_with(depth: int):
        nested = "[" * depth + "]" * depth
        raw = '{"code": "x", "extra": ' + nested + "}"
        return client.post("/api/v1/auth/login", data=raw, content_type="application/json")

    # Depth 900 parses, but walking it (this guard, marshmallow, the idempotency digest) could recurse out.
    for depth in (MAX_JSON_DEPTH, 900):
        assert_error(login_with(depth), 400, "bad_request")
    assert_error(login_with(MAX_JSON_DEPTH - 1), 422, "validation_error")  # body depth MAX: the view answers


def test_json_that_is_no_json_is_still_the_views_own_400(client):
    response = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    body = assert_error(response, 400, "bad_request")
    assert body["errors"]  # webargs names the body: the guard left it alone


def test_deep_json_in_the_admin_is_an_html_400(client):
    response = client.post("/admin/login", data=DEEP_ARRAY, content_type="application/json")
    assert "请求格式有误" in assert_html_error(response, 400)


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
@pytest.mark.parametrize("raw", [DEEP_OBJECT, '{"Event": ' + HUGE_INT + "}"], ids=["deep", "huge-int"])
def test_a_push_the_parser_trips_over_is_a_json_400(client, callback_on, raw, content_type):
    response = client.post("/wechat/callback", query_string=signed(), data=raw, content_type=content_type)
    assert_error(response, 400, "bad_request")
