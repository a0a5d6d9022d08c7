"""Every page renders for the roles allowed to use it; errors are HTML pages, never JSON or tracebacks."""

from __future__ import annotations

import pytest

from backend.staff.models import Role
from tests.admin.conftest import assert_html_error, file_join_request, html
from tests.factories import make_member

NAV = ("工作台", "会员名册", "组织架构", "入会审核", "导入名册", "公告通知", "后台账号")


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        (Role.admin, NAV),
        (Role.chair, NAV[:6]),
        (Role.officer, ("工作台", "会员名册", "入会审核", "导入名册", "公告通知")),
        (Role.group_leader, ("工作台", "会员名册")),
    ],
)
def test_nav_shows_what_the_role_may_use(client, union, login_as, role, visible):
    login_as(role, union.root)
    nav = html(client.get("/admin/")).split('<nav class="sidenav">')[1].split("</nav>")[0]
    assert [label for label in NAV if label in nav] == list(visible)


def test_dashboard_counts_in_scope(app, client, emu, union, login_as):
    make_member(app, union.group_a)
    make_member(app, union.group_a)
    make_member(app, union.group_b)
    file_join_request(app, client, emu, union.group_a)
    file_join_request(app, client, emu, union.group_b, employee_no="NEW002")
    login_as(Role.officer, union.branch_a)
    body = html(client.get("/admin/"))
    assert '<span class="number">2</span><span class="label">在册会员' in body
    assert '<span class="number">1</span><span class="label">待审核的入会申请' in body


@pytest.mark.parametrize(
    ("role", "urls"),
    [
        (
            Role.admin,
            [
                "/admin/",
                "/admin/members/",
                "/admin/members/new",
                "/admin/members/{member}",
                "/admin/members/{member}/edit",
                "/admin/members/{member}/group",
                "/admin/groups/",
                "/admin/groups/{group}/new",
                "/admin/groups/{group}/rename",
                "/admin/join-requests/",
                "/admin/join-requests/{request}",
                "/admin/roster/",
                "/admin/staff/",
                "/admin/staff/new",
                "/admin/staff/{staff}/edit",
                "/admin/staff/{staff}/password",
            ],
        ),
        (Role.chair, ["/admin/groups/", "/admin/groups/{group}/new", "/admin/roster/"]),
        (Role.officer, ["/admin/members/{member}/edit", "/admin/join-requests/{request}", "/admin/roster/"]),
        (Role.group_leader, ["/admin/", "/admin/members/", "/admin/members/{member}"]),
    ],
)
def test_pages_render_for_allowed_roles(app, client, emu, union, login_as, role, urls):
    member = make_member(app, union.group_a)
    request = file_join_request(app, client, emu, union.group_a)
    staff = login_as(role, union.group_a if role == Role.group_leader else union.root)
    for url in urls:
        url = url.format(member=member, group=union.group_a, request=request, staff=staff)
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == "text/html" and "<h1>" in html(response), url
        assert response.headers["Cache-Control"] == "no-store"


def test_unknown_admin_page_is_html_404(client, union, login_as):
    login_as(Role.officer, union.branch_a)
    body = assert_html_error(client.get("/admin/no-such-page"), 404)
    assert "找不到这个页面" in body and "回到工作台" in body and "会员名册" in body


def test_404_page_renders_for_anonymous_and_outside_admin(client):
    body = assert_html_error(client.get("/admin/no-such-page"), 404)
    assert "前往登录" in body
    body = assert_html_error(client.get("/no-such-page"), 404)
    assert "找不到这个页面" in body


def test_405_is_html(client, union, login_as):
    login_as(Role.officer, union.branch_a)
    assert_html_error(client.get("/admin/logout"), 405)


def test_unexpected_error_is_html_500_without_traceback(client, union, login_as, monkeypatch):
    import admin.views.dashboard

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(admin.views.dashboard, "dashboard_counts", explode)
    login_as(Role.officer, union.branch_a)
    body = assert_html_error(client.get("/admin/"), 500)
    assert "服务器开小差了" in body and "secret internal detail" not in body


def test_database_error_page_still_renders(app, client, union, login_as, monkeypatch):
    import sqlalchemy as sa

    import admin.views.dashboard
    from backend.extensions import db

    def broken(*args, **kwargs):
        db.session.execute(sa.text("SELECT * FROM no_such_table"))

    monkeypatch.setattr(admin.views.dashboard, "dashboard_counts", broken)
    login_as(Role.officer, union.branch_a)
    assert_html_error(client.get("/admin/"), 500)


def test_error_page_escapes_nothing_from_the_request(client):
    body = assert_html_error(client.get("/admin/<script>alert(1)</script>"), 404)
    assert "<script>alert" not in body
