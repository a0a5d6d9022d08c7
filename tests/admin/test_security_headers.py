"""Admin pages tell the browser to run only the admin's own script file, not to sniff types, and not
to send admin URLs (which carry searches) to other sites; the templates keep to that policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.staff.models import Role
from tests.admin.conftest import html

TEMPLATES = Path(__file__).resolve().parents[2] / "admin" / "templates"


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_admin_headers(response) -> None:
    policy = directives(response)
    assert policy["script-src"] == ["'self'"], policy
    assert "'unsafe-inline'" not in policy["default-src"] and "'unsafe-eval'" not in policy["default-src"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin")


def test_login_page_and_its_static_files_send_the_headers(client):
    assert_admin_headers(client.get("/admin/login"))
    response = client.get("/admin/static/admin/admin.js")
    assert_admin_headers(response)
    response.close()


def test_signed_in_pages_and_error_pages_send_the_headers(app, client, union, login_as):
    login_as(Role.admin, union.root)
    for url in ("/admin/", "/admin/members/", "/admin/staff/", "/admin/no-such-page", "/admin/members/999"):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert_admin_headers(response)


def test_the_api_docs_page_is_left_alone(client):
    # Swagger UI runs inline script: the admin's policy would break it.
    assert "Content-Security-Policy" not in client.get("/api/docs").headers


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"javascript:", re.IGNORECASE)


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_no_template_has_inline_script(template):
    text = template.read_text(encoding="utf-8")
    assert not INLINE_SCRIPT.search(text), "move the script into admin/static/admin/admin.js"
    assert not EVENT_HANDLER.search(text), "use addEventListener in admin.js, not an on… attribute"
    assert not JAVASCRIPT_URL.search(text), "a javascript: link is inline script too"


def test_the_template_check_sees_what_it_must():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/admin/static/admin/admin.js" defer></script>')
    assert EVENT_HANDLER.search('<button type="submit" onclick="return confirm(1)">')
    assert EVENT_HANDLER.search("<body\n  onload='x()'>")
    assert not EVENT_HANDLER.search('<form data-confirm="确定吗？" class="inline">')


def test_the_back_link_of_error_pages_works_without_inline_script(client):
    body = html(client.get("/admin/no-such-page"))
    assert "data-back" in body and "javascript:" not in body
