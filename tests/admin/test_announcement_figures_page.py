"""Figures people read: every column explained, groups in tree order with branch subtotals, the read rate
per group as a server-drawn SVG chart; the withdrawal's confirmation and result; today's work on the
dashboard."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import admin.views.announcements  # noqa: F401  (routes attach before the session's app registers them)
from admin.charts import BAR_MAX, read_rate_chart
from backend.announcements.figures import figures_tree
from backend.announcements.models import Announcement
from backend.announcements.reading import record_read
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.members.models import Group, Member
from backend.staff.models import Role
from tests.admin.conftest import html, post
from tests.factories import act, make_announcement, make_member, make_staff


def _read(app, announcement_id, member_id):
    with app.app_context(), unit_of_work():
        record_read(db.session.get(Announcement, announcement_id), member=db.session.get(Member, member_id))


def _published(app, union, staff_id):
    members = [make_member(app, union.group_a) for _ in range(4)] + [make_member(app, union.branch_a)]
    make_member(app, union.group_b)
    announcement_id = make_announcement(app, staff_id, whole_union=True)
    _read(app, announcement_id, members[0])
    return announcement_id


def test_every_column_is_explained(app, client, union, login_as):
    staff = login_as(Role.chair, union.root)
    page = html(client.get(f"/admin/announcements/{_published(app, union, staff)}/figures"))
    header = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    columns = re.findall(r"<th[^>]*>([^<]+)</th>", header)[1:]
    legend = page[page.index('class="facts legend-list"') :]
    explained = re.findall(r"<dt>([^<]+)</dt><dd>[^<]{6,}", legend)
    assert len(columns) == 8 and columns == explained, (columns, explained)
    assert "不推送" in explained and "只进消息中心" in legend


def test_groups_are_in_tree_order_with_branch_subtotals(app, client, union, login_as):
    staff = login_as(Role.chair, union.root)
    page = html(client.get(f"/admin/announcements/{_published(app, union, staff)}/figures"))
    table = page[page.index('<table class="grid figures">') : page.index("</table>")]
    rows = re.findall(
        r'<tr class="([^"]*)">\s*<td class="depth-(\d)">(.*?)</td>\s*<td class="num">(\d+)</td>', table
    )
    assert [
        (cls.strip(), depth, re.sub(r"<[^>]+>", "", name).strip(), n) for cls, depth, name, n in rows
    ] == [
        ("subtotal", "0", "甲分会 小计", "5"),
        ("own", "1", "本级（直属会员）", "1"),
        ("", "1", "甲一组", "4"),
        ("subtotal", "0", "乙分会 小计", "1"),
        ("", "1", "乙一组", "1"),
    ]
    assert re.search(r'<tr class="total"><td><strong>合计</strong></td><td class="num">6</td>', table)


def test_the_read_rate_is_drawn_as_an_accessible_svg_that_fits_a_phone(app, client, union, login_as):
    staff = login_as(Role.chair, union.root)
    page = html(client.get(f"/admin/announcements/{_published(app, union, staff)}/figures"))
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'role="img"' in svg and 'aria-labelledby="read-rate-title read-rate-desc"' in svg
    width = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    assert width <= 390 and 'width="100%"' in svg
    assert "<title>甲一组：阅读率 25.0%，已读 1 / 4 人</title>" in svg
    assert "甲一组：阅读率 25.0%，已读 1 / 4 人" in re.search(r"<desc[^>]*>(.*?)</desc>", svg, re.S).group(1)
    assert len(re.findall(r'<rect class="bar"', svg)) == 5
    assert "<script" not in svg


def test_a_page_without_recipients_draws_no_chart(app, client, union, login_as):
    staff = login_as(Role.chair, union.root)
    draft = make_announcement(app, staff, whole_union=True, publish=False)
    page = html(client.get(f"/admin/announcements/{draft}/figures"))
    assert "还没有发布" in page and "<svg" not in page


def test_the_chart_has_a_bar_per_line_as_long_as_its_read_rate(app, union, root_officer):
    announcement_id = _published(app, union, root_officer)
    with app.app_context():
        tree = figures_tree(db.session.get(Announcement, announcement_id), db.session.get(Group, union.root))
        chart = read_rate_chart(tree.rows)
    assert chart is not None and chart.width <= 390
    assert [(bar.label, bar.width, bar.subtotal) for bar in chart.bars] == [
        ("甲分会", BAR_MAX * 0.2, True),
        ("本级", 0.0, False),
        ("甲一组", BAR_MAX * 0.25, False),
        ("乙分会", 0.0, True),
        ("乙一组", 0.0, False),
    ]
    assert chart.bars[0].title.startswith("甲分会（含下级组织）")
    assert chart.bars[1].title.startswith("甲分会（本级，直属会员）")
    assert read_rate_chart([]) is None


# --- withdrawal --------------------------------------------------------------------------------------


def test_withdrawing_says_what_the_inbox_will_show_and_how_many_were_updated(app, client, union, login_as):
    staff = login_as(Role.officer, union.branch_a)
    for _ in range(3):
        make_member(app, union.group_a)
    announcement_id = make_announcement(app, staff, group_ids=[union.group_a])
    page = html(client.get(f"/admin/announcements/{announcement_id}"))
    confirm = re.search(r'action="[^"]*/withdraw" class="inline" data-confirm="([^"]+)"', page).group(1)
    assert "消息中心里的通知会显示为「已撤回」" in confirm and "不再显示正文" in confirm

    response = post(client, f"/admin/announcements/{announcement_id}/withdraw", follow_redirects=True)
    assert "已撤回，3 位会员的消息中心已更新" in html(response)


# --- the dashboard -----------------------------------------------------------------------------------


def test_the_dashboard_lists_todays_scheduled_and_recent_unread(app, client, union, login_as):
    staff = login_as(Role.officer, union.branch_a)
    make_member(app, union.group_a)
    make_member(app, union.group_a)
    # Due a minute ago and not yet sent (scheduled ten minutes ago): today's work at any hour. A time
    # "in five minutes" is tomorrow from 23:55 Beijing time on (the boundary itself:
    # tests/backend/announcements/test_today.py).
    soon = make_announcement(
        app,
        staff,
        group_ids=[union.group_a],
        title="今晚发的",
        publish_at=utcnow() - timedelta(minutes=1),
        now=utcnow() - timedelta(minutes=10),
    )
    later = make_announcement(
        app, staff, group_ids=[union.group_a], title="下周发的", publish_at=utcnow() + timedelta(days=8)
    )
    recent = make_announcement(app, staff, group_ids=[union.group_a], title="刚发的")
    make_announcement(
        app, staff, group_ids=[union.group_a], title="上个月的", now=datetime(2020, 1, 1, tzinfo=UTC)
    )
    other = make_announcement(
        app, make_staff(app, Role.officer, union.branch_b), group_ids=[union.group_b], title="乙的"
    )

    page = html(client.get("/admin/"))
    section = page[page.index("今天的公告工作") :]
    assert "今晚发的" in section and "已到时间" in section and "下周发的" not in section
    assert "刚发的" in section and "2 人未读" in section and "去提醒未读" in section
    assert "上个月的" not in section and "乙的" not in section
    assert f"/admin/announcements/{recent}/figures" in section and f"/announcements/{soon}" in section
    assert later and other


def test_the_dashboard_shows_an_officer_their_scope_of_a_union_wide_announcement(
    app, client, union, login_as
):
    chair = make_staff(app, Role.chair, union.root)
    make_member(app, union.group_a)
    make_member(app, union.group_b)
    make_announcement(app, chair, whole_union=True, title="全体的")
    login_as(Role.officer, union.branch_a)
    section = html(client.get("/admin/"))
    section = section[section.index("今天的公告工作") :]
    assert "全体的" in section and "只读" in section and "已读 0 / 1" in section


def test_staff_without_announcements_see_no_announcement_section(client, union, login_as):
    login_as(Role.group_leader, union.group_a)
    assert "今天的公告工作" not in html(client.get("/admin/"))


def test_the_dashboard_counts_failed_pushes(app, client, union, login_as):
    import sqlalchemy as sa

    from backend.notifications.models import DeliveryState, Notification

    staff = login_as(Role.officer, union.branch_a)
    make_member(app, union.group_a)
    announcement_id = make_announcement(app, staff, group_ids=[union.group_a])
    with app.app_context(), unit_of_work():
        db.session.execute(
            sa.update(Notification)
            .where(Notification.dedupe_key.startswith(f"announcement:{announcement_id}:"))
            .values(wechat_state=DeliveryState.failed)
        )
    assert "1 条微信提醒发送失败" in html(client.get("/admin/"))
    act(app, announcement_id, "withdraw", staff)
    assert "1 条微信提醒发送失败" not in html(client.get("/admin/"))  # withdrawn: nothing left to do
