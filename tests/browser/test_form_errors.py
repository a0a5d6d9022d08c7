"""A refused save as staff meet it: the error summary in view at the top, the cursor in the first field
to fix, the summary's links moving the cursor, and file fields that ask for the file again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.harness import PAGES, WIDTHS, LiveServer, page_urls
from tests.factories import PDF


def url(app, world, live: LiveServer, endpoint: str) -> str:
    return live.url + page_urls(app, world, {endpoint: PAGES[endpoint]})[endpoint]


def focused(page: Any) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def in_view(page: Any, selector: str) -> bool:
    return page.locator(selector).evaluate(
        "el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }"
    )


@pytest.mark.parametrize("width", list(WIDTHS))
def test_refused_save_shows_the_summary_and_puts_the_cursor_on_the_first_field(
    app, world, live, new_page, width
):
    page = new_page(width)
    page.goto(url(app, world, live, "admin.member_new"))
    page.get_by_label("姓名").fill("王五")
    page.get_by_label("手机号").fill("12345")
    page.get_by_role("button", name="保存").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    page.wait_for_load_state("load")  # the summary shows before admin.js has moved the cursor
    links = summary.get_by_role("link").all_inner_texts()
    assert links == ["工号：请填写工号", "手机号：请填写 11 位手机号码"]
    assert in_view(page, ".error-summary")
    assert focused(page) == "employee_no"
    summary.get_by_role("link", name="手机号：请填写 11 位手机号码").click()
    assert focused(page) == "phone" and in_view(page, "#phone")


def test_refused_announcement_asks_for_its_attachments_again(app, world, live, new_page):
    page = new_page("phone")
    page.goto(url(app, world, live, "admin.announcement_new"))
    page.get_by_role("textbox", name="正文").fill("正文")  # the rich-text editor over the textarea
    page.set_input_files(
        "#attachments", files=[{"name": "日程.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="保存并预览").click()
    page.locator(".error-summary").wait_for()
    page.wait_for_load_state("load")  # (a CI run under load read the focus before admin.js had set it)
    assert focused(page) == "title"
    hint = page.locator("#attachments ~ .refile")
    assert hint.is_visible() and "请重新选择文件" in hint.inner_text()


def test_refused_roster_upload_asks_for_the_file_again(app, world, live, new_page):
    page = new_page("desktop")
    page.goto(url(app, world, live, "admin.roster_upload"))
    page.set_input_files("#file", files=[{"name": "名册.txt", "mimeType": "text/plain", "buffer": b"x"}])
    page.get_by_role("button", name="上传并检查").click()
    page.locator(".error-summary").wait_for()
    page.wait_for_load_state("load")
    assert focused(page) == "file"
    assert "请重新选择文件" in page.locator("#file ~ .refile").inner_text()
    assert "只支持 Excel" in page.locator(".error-summary").inner_text()
