"""First steps (issue 12): the bare address leads to the admin, the tab has an icon, downloads say their
charset once."""

from __future__ import annotations

import re
from io import BytesIO

from PIL import Image

from backend.staff.models import Role
from tests.admin.conftest import html


def test_the_site_root_goes_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert client.get("/", follow_redirects=True).request.path == "/admin/login"


def test_pages_link_an_icon_and_the_root_answers_for_one(client, union, login_as):
    login = html(client.get("/admin/login"))
    link = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', login)
    assert link, "the login page links an icon"
    with client.get(link.group(1)) as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
    login_as(Role.officer, union.branch_a)
    assert link.group(0) in html(client.get("/admin/"))

    with client.get("/favicon.ico") as ico:
        assert ico.status_code == 200 and ico.mimetype == "image/x-icon"
        assert Image.open(BytesIO(ico.data)).format == "ICO"


def test_the_csv_template_names_its_charset_once(client, union, login_as):
    login_as(Role.officer, union.branch_a)
    response = client.get("/admin/roster/template.csv")
    assert response.status_code == 200
    assert response.headers.getlist("Content-Type") == ["text/csv; charset=utf-8"]
