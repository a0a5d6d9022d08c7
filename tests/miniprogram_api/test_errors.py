"""Every non-success under /api/ and /wechat/ has API.md's JSON error shape; no input gives a 500."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from marshmallow import Schema, ValidationError, fields, validate
from webargs.flaskparser import FlaskParser

from backend import create_app
from backend.activities.models import Activity
from backend.announcements.models import Announcement
from backend.care.models import CareRequest, CareVisit
from backend.extensions import db
from backend.http_errors import CJK, _translate, field_message
from backend.notifications.models import Notification
from backend.uploads.models import Upload
from tests.conftest import app_settings
from tests.factories import api_login, auth, make_activity, make_staff, staff_login
from tests.miniprogram_api.fuzz_bodies import resolve
from tests.miniprogram_api.fuzz_requests import build_world

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


# --- no English in any message ---------------------------------------------------------------------

WRONG_VALUES = [None, [], {}, "", "x" * 300, 10**30, -1, 1.5, "abc", True, "2024-13-45", {"a": [1]}, ["x"]]


def leaf_messages(errors) -> list[str]:
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in leaf_messages(value)]
    if isinstance(errors, list):
        return [m for value in errors for m in leaf_messages(value)]
    return [errors] if isinstance(errors, str) else []


def english(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]{2,}", text)


def test_no_field_error_from_any_endpoint_is_in_english(app, client, emu):
    """Wrong types, sizes and shapes for every field of every operation the OpenAPI document lists,
    malformed JSON, and wrong query values: every message a worker could be shown is Chinese."""
    world = build_world(app, client, emu)
    token = world.callers.tokens["member"]
    make_activity(app, make_staff(app, "officer", world.callers.union.root), max_companions=2)
    with app.app_context():
        ids = {
            "announcement_id": db.session.scalar(sa.select(sa.func.min(Announcement.id))),
            "upload_id": db.session.scalar(sa.select(sa.func.min(Upload.id))),
            "message_id": db.session.scalar(sa.select(sa.func.min(Notification.id))),
            "activity_id": db.session.scalar(sa.select(sa.func.min(Activity.id))),
            # No hardship application in this world: any id reaches the route's checks (404 or 422).
            "application_id": 1,
            # care: the member's own where there is one, else an id answered 404
            "request_id": db.session.scalar(sa.select(sa.func.min(CareRequest.id))) or 1,
            "visit_id": db.session.scalar(sa.select(sa.func.min(CareVisit.id))) or 1,
        }
    seen: dict[str, str] = {}

    def send(op, url, **kwargs):
        response = client.open(url, method=op.method, headers=auth(token), **kwargs)
        body = response.get_json(silent=True) or {}
        if response.status_code >= 400:
            for message in [body.get("message", ""), *leaf_messages(body.get("errors"))]:
                seen.setdefault(message, f"{op.method} {url} {kwargs}")

    for op in world.operations:
        url = op.path
        for name in [part[1:-1] for part in op.path.split("/") if part.startswith("{")]:
            url = url.replace("{" + name + "}", str(ids[name]))
        for name in op.queries:
            for value in ["abc", "-1", "0", str(10**30), "1.5"]:
                send(op, url, query_string={name: value})
        if op.json_schema is None:
            continue
        send(op, url, data="{not json", content_type="application/json")
        for body in ([], "x", 1, {}, {"unknown_field": 1}):
            send(op, url, json=body)
        schema = resolve(world.spec, op.json_schema)
        for field in schema.get("properties", {}):
            for value in WRONG_VALUES:
                send(op, url, json={field: value})
    assert len(seen) > 5, seen
    leftovers = {message: where for message, where in seen.items() if english(message) or not message}
    assert not leftovers, leftovers


def _failing(check, value) -> str:
    try:
        check(value)
    except ValidationError as error:
        return str(error.messages[0])
    raise AssertionError(f"{check!r} accepted {value!r}")


def library_messages() -> set[str]:
    """Every default message of marshmallow's fields, schemas and validators, filled in as they raise
    them, and webargs' own: what a request's field errors can say before http_errors translates them."""
    messages = {"Invalid JSON body.", FlaskParser.DEFAULT_VALIDATION_MESSAGE}
    messages |= set(Schema._default_error_messages.values())
    for cls in vars(fields).values():
        if isinstance(cls, type) and issubclass(cls, fields.Field):
            for klass in cls.__mro__:
                for template in getattr(klass, "default_error_messages", {}).values():
                    obj_type = getattr(cls, "OBJ_TYPE", "datetime")
                    messages.update(
                        template.format(input="x", obj_type=obj_type, awareness=awareness, choices="a, b")
                        for awareness in ("naive", "aware")
                    )
    messages |= {
        _failing(validate.Length(min=2), "a"),
        _failing(validate.Length(max=2), "abc"),
        _failing(validate.Length(min=2, max=3), "a"),
        _failing(validate.Length(equal=2), "a"),
        _failing(validate.Range(min=1), 0),
        _failing(validate.Range(max=1), 2),
        _failing(validate.Range(min=1, max=2), 3),
        _failing(validate.Range(min=1, min_inclusive=False), 1),
        _failing(validate.Range(max=1, max_inclusive=False), 1),
        _failing(validate.OneOf(["a", "b"]), "c"),
        _failing(validate.NoneOf(["a"]), "a"),
        _failing(validate.ContainsOnly(["a"]), ["b"]),
        _failing(validate.ContainsNoneOf(["a"]), ["a"]),
        _failing(validate.Equal(1), 2),
        _failing(validate.Regexp("a"), "b"),
        _failing(validate.Email(), "x"),
        _failing(validate.URL(), "x"),
        _failing(validate.Predicate("isdigit"), "x"),
    }
    return messages


def test_every_marshmallow_and_webargs_message_has_chinese_wording():
    """What the libraries can say, as each field and validator words it by default, has its own Chinese
    (http_errors.FIELD_MESSAGES), even the ones no endpoint here happens to trigger yet. A message a new
    release adds fails here, to be worded, rather than falling back to the generic one."""
    samples = library_messages()
    assert len(samples) > 40, samples
    for message in sorted(samples):
        translated = field_message(message)
        assert translated and not english(translated) and CJK.search(translated), (message, translated)


def test_an_unknown_english_field_message_is_never_shown_as_it_is():
    assert _translate({"name": ["Some new library message."]}) == {"name": ["取值不正确"]}
    assert _translate({"name": ["请填写姓名"]}) == {"name": ["请填写姓名"]}  # ours pass through
