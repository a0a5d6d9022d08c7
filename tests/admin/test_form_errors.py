"""A refused form: an error summary at the top linking each field, the cursor on the first field to fix,
a file field that says to choose the file again, and every message (ours and the libraries') in Chinese."""

from __future__ import annotations

import ast
import re
from io import BytesIO
from pathlib import Path

import flask_wtf
import pytest
import wtforms
from flask import render_template_string

from admin.forms import EmptyForm, LoginForm
from backend.staff.models import Role
from tests.admin.conftest import html, post
from tests.factories import PDF

CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%s|\{\w+\}")
ENGLISH = re.compile(r"[A-Za-z]{2,}")


def english_in(text: str) -> list[str]:
    """Latin words a message shows, beyond its placeholders and the names of things (IP, CSRF …)."""
    return [w for w in ENGLISH.findall(PLACEHOLDER.sub("", text)) if w not in {"IP"}]


def summary(page: str) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert match, "no error summary on the refused form"
    return match.group(0)


def autofocused(page: str) -> list[str]:
    """The ids of the elements with autofocus."""
    return re.findall(r'<(?:input|select|textarea)[^>]*\bautofocus\b[^>]*\bid="([^"]+)"', page) + re.findall(
        r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"[^>]*\bautofocus\b', page
    )


def new_member(client, union, **fields):
    data = {"name": "王五", "employee_no": "A100", "phone": "", "group_id": union.group_a, **fields}
    return post(client, "/admin/members/new", data)


def test_refused_form_lists_every_error_at_the_top_linked_to_its_field(client, union, login_as):
    login_as(Role.officer, union.root)
    response = new_member(client, union, employee_no="", phone="12345", birthday="2999-01-01")
    assert response.status_code == 422
    box = summary(html(response))
    links = re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', box)
    assert links == [
        ("employee_no", "工号：请填写工号"),
        ("phone", "手机号：请填写 11 位手机号码"),
        ("birthday", "生日：日期不能晚于今天"),
    ]
    assert html(response).index('class="error-summary"') < html(response).index('id="name"')


def test_summary_follows_the_order_the_page_shows_the_fields_in(client, union, login_as):
    login_as(Role.officer, union.root)
    response = new_member(client, union, group_id="", joined_on="2999-01-01", employee_no="")
    links = re.findall(r'<a href="#([\w-]+)">', summary(html(response)))
    assert links == ["employee_no", "group_id", "joined_on"]


def test_the_cursor_goes_to_the_first_field_to_fix_and_nowhere_else(client, union, login_as):
    login_as(Role.officer, union.root)
    assert autofocused(html(client.get("/admin/members/new"))) == ["name"]  # a fresh form: the first field
    response = new_member(client, union, phone="12345")
    assert autofocused(html(response)) == ["phone"]


def test_a_radio_group_in_the_summary_links_to_its_first_option(client, union, login_as):
    login_as(Role.officer, union.branch_a)
    data = {"title": "标题", "category": "notice", "body_html": "正文", "audience": "nobody", "push": "y"}
    page = html(post(client, "/admin/announcements/new", data))
    assert 'href="#audience-0"' in summary(page)
    assert autofocused(page) == ["audience-0"]


def test_an_operations_refusal_is_in_the_summary_too(client, union, login_as):
    login_as(Role.admin, union.root)
    account = {
        "username": "dup",
        "role": "officer",
        "scope_group_id": union.root,
        "password": "long-enough-1",
        "confirm": "long-enough-1",
    }
    assert post(client, "/admin/staff/new", {**account, "display_name": "甲"}).status_code == 302
    again = post(client, "/admin/staff/new", {**account, "display_name": "乙"})
    assert again.status_code == 409
    assert re.search(r'<a href="#username">登录名：[^<]+</a>', summary(html(again)))


def test_a_refusal_that_names_no_field_is_listed_without_a_link(app):
    with app.test_request_context(method="POST", data={}):
        form = EmptyForm(meta={"csrf": False})
        form.form_errors.append("这条公告已经发布，不能再修改")
        page = render_template_string(
            '{% from "admin/_macros.html" import error_summary %}{{ error_summary(form) }}', form=form
        )
    assert "<li>这条公告已经发布，不能再修改</li>" in summary(page) and "href" not in page


def test_a_refused_roster_upload_says_to_choose_the_file_again(client, union, login_as):
    login_as(Role.officer, union.branch_a)
    sent = post(
        client,
        "/admin/roster/check",
        {"file": (BytesIO(b"x"), "名册.txt")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 422 and "请重新选择文件" in html(sent)
    assert autofocused(html(sent)) == ["file"]
    nothing = post(client, "/admin/roster/check", {})
    assert nothing.status_code == 422 and "请选择要上传的文件" in html(nothing)
    assert "请重新选择文件" not in html(nothing)  # no file was chosen: nothing to choose again


def test_a_refused_announcement_says_its_attachments_must_be_chosen_again(client, union, login_as):
    login_as(Role.officer, union.branch_a)
    data = {
        "title": "",
        "category": "notice",
        "body_html": "正文",
        "audience": "groups",
        "groups": [union.group_a],
        "push": "y",
        "attachments": [(BytesIO(PDF), "日程.pdf")],
    }
    page = html(post(client, "/admin/announcements/new", data, content_type="multipart/form-data"))
    assert page.index('id="attachments"') < page.index("请重新选择文件") < page.index("保存并预览")
    assert 'href="#title"' in summary(page) and autofocused(page) == ["title"]
    data["attachments"] = []
    assert "请重新选择文件" not in html(post(client, "/admin/announcements/new", data))


@pytest.mark.parametrize(
    ("url", "data", "english"),
    [
        ("/admin/staff/new", {"role": "6"}, "not a valid choice"),
        ("/admin/announcements/new", {"groups": ["6"]}, "is not a valid choice for this field"),
        ("/admin/announcements/new", {"groups": ["6", "7"]}, "are not valid choices"),
        ("/admin/announcements/new", {"groups": ["abc"]}, "could not be coerced"),
        ("/admin/announcements/new", {"category": "nope"}, "not a valid choice"),
        ("/admin/announcements/new", {"publish_at": "tomorrow"}, "not a valid datetime"),
    ],
)
def test_the_libraries_own_messages_are_chinese(client, union, login_as, url, data, english):
    login_as(Role.admin, union.root)
    response = post(client, url, data)
    assert response.status_code == 422
    page = html(response)
    assert english not in page.lower()
    box = summary(page)
    assert not english_in(re.sub(r"<[^>]+>", " ", box)), box


def library_messages() -> set[str]:
    """Every message WTForms and Flask-WTF pass to gettext/ngettext, read from their installed source."""
    found: set[str] = set()
    for package in (wtforms, flask_wtf):
        for path in Path(package.__file__).parent.rglob("*.py"):
            if "recaptcha" in path.parts:
                continue  # not used: its messages come from its caller
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                name = getattr(node, "func", None)
                name = getattr(name, "attr", None) or getattr(name, "id", None)
                if isinstance(node, ast.Call) and name in ("gettext", "ngettext") and node.args:
                    first = node.args[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        found.add(first.value)
    return found


def test_every_wtforms_and_flask_wtf_message_has_chinese_wording(app):
    messages = library_messages()
    assert len(messages) > 35 and "This field is required." in messages
    with app.test_request_context():
        form = LoginForm()
        translations = form.meta.get_translations(form)
        for message in sorted(messages):
            text = translations.gettext(message)
            assert CJK.search(text) and not english_in(text), (message, text)
        assert (
            translations.ngettext("Field cannot be longer than %(max)d character.", "...", 5)
            == "最多 %(max)d 个字"
        )
        size = translations.gettext("File must be between 0 and 1024 bytes.")  # FileSize: an f-string
        assert CJK.search(size) and "1024" in size


@pytest.mark.parametrize(
    ("data", "session"),
    [({}, {}), ({"csrf_token": "forged"}, {"csrf_token": "x"}), ({"csrf_token": "forged"}, {})],
)
def test_the_forms_own_csrf_messages_are_chinese(app, data, session):
    with app.test_request_context(method="POST", data=data):
        from flask import session as flask_session

        flask_session.update(session)
        form = EmptyForm()
        assert not form.validate()
        [message] = form.csrf_token.errors
        assert CJK.search(message) and not english_in(message), message
