"""Every page renders for the roles allowed to use it; errors are HTML pages, never JSON or tracebacks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from backend.extensions import db
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


@contextmanager
def counting_fails(app: Flask, fail: Callable[[Any, str, Any], tuple[str, Any]]) -> Iterator[list[str]]:
    """Each SELECT that counts (the 工作台's figures) meets `fail` on its way into the database driver.

    The failure comes from below all of our code, where a lost connection or a broken query surfaces,
    so the test holds whichever module the counting lives in. Yields the statements it caught.
    """
    caught: list[str] = []

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        if "count(" in statement.lower():
            caught.append(statement)
            return fail(conn, statement, parameters)
        return statement, parameters

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before_cursor_execute, retval=True)
    try:
        yield caught
    finally:
        sa.event.remove(engine, "before_cursor_execute", before_cursor_execute)


def test_unexpected_error_is_html_500_without_traceback(app, client, union, login_as):
    def driver_error(conn, statement, parameters):
        # What SQLAlchemy raises when the driver fails (a lost connection, a full disk), message and all.
        dbapi_error = conn.dialect.loaded_dbapi.OperationalError("secret internal detail")
        raise sa.exc.OperationalError(statement, parameters, dbapi_error)

    login_as(Role.officer, union.branch_a)
    with counting_fails(app, driver_error) as caught:
        body = assert_html_error(client.get("/admin/"), 500)
    assert caught, "the dashboard ran no counting query"
    assert "服务器开小差了" in body and "secret internal detail" not in body


def test_database_error_page_still_renders(app, client, union, login_as):
    def broken_query(conn, statement, parameters):
        # The database itself refuses it (and, on PostgreSQL, aborts the transaction the page runs in).
        return "SELECT * FROM no_such_table", {} if isinstance(parameters, dict) else ()

    login_as(Role.officer, union.branch_a)
    with counting_fails(app, broken_query) as caught:
        assert_html_error(client.get("/admin/"), 500)
    assert caught, "the dashboard ran no counting query"


def test_error_page_escapes_nothing_from_the_request(client):
    body = assert_html_error(client.get("/admin/<script>alert(1)</script>"), 404)
    assert "<script>alert" not in body
