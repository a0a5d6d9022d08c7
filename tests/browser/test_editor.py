"""The announcement form as staff use it in the browser: formatting made in the rich-text editor reaches
the saved body (through the sanitiser), and the groups ticked in the tree become the audience."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from backend.announcements.models import Announcement
from backend.db import unit_of_work
from backend.extensions import db
from tests.browser.harness import PAGES, page_urls

TITLE = "编辑器测试公告"


@pytest.fixture
def saved(app) -> Iterator[None]:
    """The package shares one seeded union: the draft this test saves is deleted afterwards."""
    yield
    with app.app_context(), unit_of_work():
        for announcement in db.session.scalars(sa.select(Announcement).where(Announcement.title == TITLE)):
            db.session.delete(announcement)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_bold_text_and_ticked_groups_are_saved(app, world, live, new_page, saved, width):
    page = new_page(width)
    page.goto(
        live.url
        + page_urls(app, world, {"admin.announcement_new": PAGES["admin.announcement_new"]})[
            "admin.announcement_new"
        ]
    )
    page.locator("#title").fill(TITLE)
    editor = page.get_by_role("textbox", name="正文")
    editor.click()
    page.keyboard.type("请大家注意：")
    page.get_by_role("button", name="加粗").click()
    page.keyboard.type("周五停电")
    # The seeded 系统管理员 holds the whole union, so the form starts at 全体会员 and hides the tree.
    assert page.get_by_label("全体会员").is_checked() and not page.locator(".group-tree").is_visible()
    page.get_by_label("指定组织（含其下级组织）").check()
    first_group = page.locator(".group-tree label.check").first
    group_name = first_group.inner_text().strip()
    first_group.click()
    assert page.locator(".group-tree input[type=checkbox]").first.is_checked()
    page.get_by_role("button", name="保存并预览").click()
    page.wait_for_load_state()
    assert page.locator(".error-summary").count() == 0

    with app.app_context():
        announcement = db.session.scalar(sa.select(Announcement).where(Announcement.title == TITLE))
        assert announcement is not None
        assert announcement.body_html == "<p>请大家注意：<strong>周五停电</strong></p>"
        assert not announcement.whole_union and [g.name for g in announcement.groups] == [group_name]
