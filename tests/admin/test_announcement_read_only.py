"""An officer and the union-wide announcements in the admin: listed and opened read-only, figures and
reminders limited to their scope, every write refused."""

from __future__ import annotations

import re

import pytest

import admin.views.announcements  # noqa: F401  (routes attach before the session's app registers them)
from backend.announcements.models import Announcement, AnnouncementStatus
from backend.staff.models import Role
from tests.admin.conftest import assert_html_error, html, post
from tests.factories import get, make_announcement, make_member, make_staff


@pytest.fixture
def union_wide(app, union):
    chair = make_staff(app, Role.chair, union.root)
    make_member(app, union.group_a, name="甲组会员")
    make_member(app, union.group_a, name="甲组会员二")
    make_member(app, union.group_b, name="乙组会员")
    return make_announcement(app, chair, whole_union=True, title="全体会员大会通知")


def test_the_list_marks_a_union_wide_announcement_read_only_with_the_scopes_figures(
    client, union, login_as, union_wide
):
    login_as(Role.officer, union.branch_a)
    page = html(client.get("/admin/announcements/"))
    assert "全体会员大会通知" in page and "只读</span>" in page
    row = page[page.index("全体会员大会通知") :]
    assert re.search(r'<td class="num">2</td>\s*<td class="num">0（0.0%）</td>', row)  # 2 in branch A, not 3


def test_the_page_of_a_union_wide_announcement_has_no_buttons_that_change_it(
    client, union, login_as, union_wide
):
    login_as(Role.officer, union.branch_a)
    page = html(client.get(f"/admin/announcements/{union_wide}"))
    assert "全体会员大会通知" in page and "不能修改、撤回或删除" in page
    for button in ("修改</a>", "立即发布", ">撤回<", "删除草稿", "取消定时"):
        assert button not in page, button
    assert "您负责范围内 0 / 2" in page


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/edit"), ("post", "/edit"), ("post", "/publish"), ("post", "/withdraw"),
     ("post", "/unschedule"), ("post", "/delete")],
)  # fmt: skip
def test_every_write_to_a_union_wide_announcement_is_refused(
    app, client, union, login_as, union_wide, method, path
):
    login_as(Role.officer, union.branch_a)
    url = f"/admin/announcements/{union_wide}{path}"
    response = client.get(url) if method == "get" else post(client, url, {"title": "改掉"})
    assert_html_error(response, 404)
    announcement = get(app, Announcement, union_wide)
    assert announcement.status == AnnouncementStatus.published and announcement.title == "全体会员大会通知"


def test_the_figures_page_counts_and_lists_only_the_officers_scope(client, union, login_as, union_wide):
    login_as(Role.officer, union.branch_a)
    page = html(client.get(f"/admin/announcements/{union_wide}/figures"))
    assert "只统计发布时在「甲分会」范围内的会员" in page
    assert "甲组会员" in page and "乙组会员" not in page and "乙一组" not in page
    assert "未读会员（2 人）" in page
    assert 'data-confirm="将给 2 位未读会员发送提醒（每人每天最多一次，只提醒甲分会范围内的会员）' in page


def test_an_officer_reminds_their_own_unread_of_a_union_wide_announcement(
    client, union, login_as, union_wide
):
    login_as(Role.officer, union.branch_a)
    response = post(client, f"/admin/announcements/{union_wide}/remind", follow_redirects=True)
    assert "已提醒 2 位未读会员" in html(response)


def test_staff_who_manage_it_see_everyone(client, union, login_as, union_wide):
    login_as(Role.chair, union.root)
    page = html(client.get(f"/admin/announcements/{union_wide}/figures"))
    assert "未读会员（3 人）" in page and "只统计发布时" not in page
    assert ">撤回<" in html(client.get(f"/admin/announcements/{union_wide}"))
