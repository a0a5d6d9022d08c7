"""The activity form's 报名信息项 row editor (admin/static/admin/form_fields.js): the rows show the
saved items, and what is typed in them is written back into the form field as 名称|类型|必填|选项."""

from __future__ import annotations

import pytest

from tests.browser.harness import PAGES, page_urls


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_rows_write_the_form_fields_text(app, world, live, new_page, width):
    page = new_page(width)
    endpoint = "admin.activity_edit"
    page.goto(live.url + page_urls(app, world, {endpoint: PAGES[endpoint]})[endpoint])
    assert not page.locator("textarea[name=form_fields]").is_visible()
    rows = page.locator(".form-fields-editor tbody tr")
    assert rows.count() == 1 and rows.first.locator("[data-part=label]").input_value() == "衣服尺码"
    page.get_by_role("button", name="添加一项").click()
    second = rows.nth(1)
    second.locator("[data-part=label]").fill("孩子年龄")
    second.locator("[data-part=kind]").select_option("数字")
    second.locator("[data-part=required]").check()
    text = page.locator("textarea[name=form_fields]").input_value()
    assert text == "衣服尺码|单选|选填|小号,中号,大号\n孩子年龄|数字|必填"
    rows.first.get_by_role("button", name="删除").click()
    assert page.locator("textarea[name=form_fields]").input_value() == "孩子年龄|数字|必填"
