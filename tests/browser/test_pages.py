"""Every admin page in a real browser at 1366 × 768 and 390 × 844: it answers 200, shows no English
leftovers (harness.ALLOWED_WORDS says the rule), raises no script error, and at phone width is no
wider than the screen (tables scroll inside their own box)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.browser.harness import (
    DOWNLOADS,
    PAGES,
    SIGNED_OUT,
    VISIBLE_PROSE_JS,
    WALKED_AFTER_A_POST,
    WIDTHS,
    LiveServer,
    World,
    english_leftovers,
    page_urls,
)


def admin_get_endpoints(app: Flask) -> set[str]:
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.") and "GET" in (rule.methods or ())
    }


def test_every_admin_page_is_walked(app):
    """A new admin page fails here until it is added to harness.PAGES (or DOWNLOADS, for a file)."""
    endpoints = admin_get_endpoints(app)
    assert not set(PAGES) & set(DOWNLOADS)
    walked = set(PAGES) | set(DOWNLOADS) | set(WALKED_AFTER_A_POST)
    assert endpoints - walked == set(), "add these to tests/browser/harness.py PAGES"
    assert set(PAGES) | set(DOWNLOADS) <= endpoints, "PAGES names an endpoint that no longer exists"


def measure(page: Any) -> dict[str, Any]:
    return {
        "text": page.evaluate(VISIBLE_PROSE_JS),
        **page.evaluate(
            "() => ({scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth})"
        ),
    }


def open_and_check(page: Any, url: str, world: World, width: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    assert page.url.split("?")[0] == url.split("?")[0], f"{url} went to {page.url}"
    seen = measure(page)
    leftovers = english_leftovers(seen["text"], world.data_words)
    assert not leftovers, f"English on {url}: {leftovers}"
    assert not errors, f"script errors on {url}: {errors}"
    if width == "phone":
        assert seen["scrollWidth"] <= seen["innerWidth"], (
            f"{url} is {seen['scrollWidth'] - seen['innerWidth']} px wider than the screen"
        )


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("endpoint", sorted(set(PAGES) - SIGNED_OUT))
def test_page(app, world, live: LiveServer, new_page, width, endpoint):
    url = page_urls(app, world, {endpoint: PAGES[endpoint]})[endpoint]
    open_and_check(new_page(width), live.url + url, world, width)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_signed_out_pages(app, world, live: LiveServer, browser, width):
    context = browser.new_context(viewport=WIDTHS[width], locale="zh-CN")
    try:
        for url in page_urls(app, world, {e: PAGES[e] for e in SIGNED_OUT}).values():
            open_and_check(context.new_page(), live.url + url, world, width)
    finally:
        context.close()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_roster_check_report(app, world, live: LiveServer, new_page, width):
    """The page a POST answers with (导入名册's dry run): sent through the upload form."""
    page = new_page(width)
    open_and_check(page, live.url + "/admin/roster/", world, width)
    roster = "姓名,工号,手机号,所属组织,生日,入会日期\n新人甲,300001,13800000001,甲一组,,\n无名,,,,,\n"
    page.set_input_files(
        "#file", files=[{"name": "名册.csv", "mimeType": "text/csv", "buffer": roster.encode()}]
    )
    page.get_by_role("button", name="上传并检查").click()
    page.get_by_role("heading", name="检查结果：名册.csv").wait_for()
    seen = measure(page)
    assert not english_leftovers(seen["text"], world.data_words)
    assert width == "desktop" or seen["scrollWidth"] <= seen["innerWidth"]
    # The check's lists, a page at a time (admin.roster_preview, which this session's upload opens).
    open_and_check(page, live.url + "/admin/roster/check?show=errors", world, width)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_error_page(app, world, live: LiveServer, new_page, width):
    page = new_page(width)
    response = page.goto(live.url + "/admin/members/999999")
    assert response is not None and response.status == 404
    seen = measure(page)
    assert "找不到这个页面" in seen["text"] and not english_leftovers(seen["text"], world.data_words)
    assert width == "desktop" or seen["scrollWidth"] <= seen["innerWidth"]


@pytest.mark.parametrize("endpoint", sorted(DOWNLOADS))
def test_download(app, world, live: LiveServer, contexts, endpoint):
    url = page_urls(app, world, {endpoint: DOWNLOADS[endpoint]})[endpoint]
    response = contexts["desktop"].request.get(live.url + url)
    assert response.status == 200, (url, response.status)
    assert not response.headers["content-type"].startswith("text/html"), url
