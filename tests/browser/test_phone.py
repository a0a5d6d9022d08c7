"""At 390 × 844: a header on one line, navigation behind a menu button, forms in one column across the
screen, tables that scroll inside their own box. At 1366 × 768 the sidebar stays as it was."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.harness import PAGES, LiveServer, page_urls


def url(app, world, live: LiveServer, endpoint: str) -> str:
    return live.url + page_urls(app, world, {endpoint: PAGES[endpoint]})[endpoint]


def box(page: Any, selector: str) -> dict[str, float]:
    return page.locator(selector).first.bounding_box()


def test_header_fits_on_one_line(app, world, live, new_page):
    page = new_page("phone")
    page.goto(url(app, world, live, "admin.dashboard"))
    header = box(page, ".topbar")
    assert header["height"] <= 56, f"the header is {header['height']} px tall"
    brand, button = box(page, ".topbar .brand"), box(page, ".menu-toggle")
    assert abs((brand["y"] + brand["height"] / 2) - (button["y"] + button["height"] / 2)) < 4
    assert button["x"] + button["width"] <= 390
    assert not page.locator(".whoami").is_visible()


def test_navigation_collapses_behind_the_menu_button(app, world, live, new_page):
    page = new_page("phone")
    page.goto(url(app, world, live, "admin.dashboard"))
    assert not page.locator(".sidenav").is_visible()
    assert box(page, "main.content")["width"] >= 380, "the navigation still takes part of the width"

    menu = page.get_by_role("button", name="菜单")
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    assert page.get_by_role("button", name="退出登录").is_visible()
    assert page.get_by_role("link", name="修改密码").is_visible()
    members = page.locator(".sidenav").get_by_role("link", name="会员名册")
    assert members.is_visible() and box(page, ".sidenav")["width"] >= 380
    menu.click()
    assert not page.locator(".sidenav").is_visible() and menu.get_attribute("aria-expanded") == "false"
    menu.click()
    members.click()
    page.wait_for_url("**/admin/members/")
    assert not page.locator(".sidenav").is_visible()  # a new page starts with the menu closed


def test_desktop_keeps_the_sidebar_and_the_account_in_the_header(app, world, live, new_page):
    page = new_page("desktop")
    page.goto(url(app, world, live, "admin.dashboard"))
    assert not page.locator(".menu-toggle").is_visible()
    assert page.locator(".sidenav").is_visible() and box(page, ".sidenav")["x"] == 0
    assert page.locator(".whoami").is_visible() and box(page, ".topbar")["height"] <= 56


@pytest.mark.parametrize(
    "endpoint", ["admin.member_new", "admin.announcement_new", "admin.join_request_review", "admin.staff_new"]
)
def test_forms_are_one_column_across_the_screen(app, world, live, new_page, endpoint):
    page = new_page("phone")
    page.goto(url(app, world, live, endpoint))
    cards = page.locator("form.card").all()
    assert cards
    bottom = 0.0
    for card in cards:
        frame = card.bounding_box()
        assert frame["width"] >= 340 and frame["x"] + frame["width"] <= 390, frame
        assert frame["y"] >= bottom, "two forms side by side"
        bottom = frame["y"] + frame["height"]
        fields = [f.bounding_box() for f in card.locator(".field:visible").all()]
        assert fields and {round(f["x"]) for f in fields} == {round(fields[0]["x"])}, "fields side by side"
        # (A textarea under the rich-text editor is hidden: the editor is what must fit.)
        controls = ".field input:visible, .field select:visible, .field textarea:visible, .field .rich-editor"
        for control in card.locator(controls).all():
            shape = control.bounding_box()
            assert shape["x"] + shape["width"] <= frame["x"] + frame["width"], control


@pytest.mark.parametrize("endpoint", ["admin.audit_list", "admin.members_list", "admin.groups_tree"])
def test_tables_scroll_inside_their_own_box(app, world, live, new_page, endpoint):
    page = new_page("phone")
    page.goto(url(app, world, live, endpoint))
    tables = page.evaluate(
        """() => [...document.querySelectorAll("table.grid")].map(t => {
            const box = t.closest(".table-scroll");
            return box && {
                overflow: getComputedStyle(box).overflowX,
                right: box.getBoundingClientRect().right,
                scrolls: box.scrollWidth > box.clientWidth,
            };
        })"""
    )
    assert tables and all(tables), "a table outside a .table-scroll box"
    assert all(t["overflow"] == "auto" and t["right"] <= 390 for t in tables), tables
    if endpoint == "admin.audit_list":
        assert tables[0]["scrolls"], "the audit table fits: this test no longer shows the box scrolling"
        page.locator(".table-scroll").first.evaluate("box => box.scrollBy(200, 0)")
        assert page.evaluate("window.scrollX") == 0
        assert page.locator(".table-scroll").first.evaluate("box => box.scrollLeft") > 0
