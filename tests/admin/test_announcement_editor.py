"""Writing an announcement: the vendored editor is loaded by the form only, what it posts is still
sanitised, the audience is a tree of checkboxes with a sensible default, and drafts can be deleted."""

from __future__ import annotations

import re

import sqlalchemy as sa

import admin.views.announcements  # noqa: F401  (routes attach before the session's app registers them)
from backend.announcements.models import Announcement, AnnouncementStatus
from backend.audit.models import AuditLog
from backend.extensions import db
from backend.staff.models import Role
from backend.uploads.models import Upload
from tests.admin.conftest import assert_html_error, html, post
from tests.conftest import project_root
from tests.factories import PDF, announcement_with_files, count, get, make_announcement, make_staff

QUILL = "/admin/static/vendor/quill-2.0.3/"


def _form(**overrides):
    data = {"title": "编辑器写的公告", "category": "notice", "audience": "groups", "push": "y"}
    data.update(overrides)
    return data


def test_the_form_loads_the_vendored_editor_over_the_textarea(client, union, login_as):
    login_as(Role.officer, union.branch_a)
    page = html(client.get("/admin/announcements/new"))
    assert f'<script src="{QUILL}quill.js" defer></script>' in page
    assert '<script src="/admin/static/admin/editor.js" defer></script>' in page
    assert f'href="{QUILL}quill.snow.css"' in page
    assert re.search(r'<textarea[^>]*data-editor="quill"[^>]*name="body_html"', page)
    # Everything it loads is served from here (the Content-Security-Policy allows nothing else).
    for asset in (f"{QUILL}quill.js", f"{QUILL}quill.snow.css", "/admin/static/admin/editor.js"):
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()


def test_the_editor_is_vendored_with_its_licence_and_loaded_by_the_form_only(client, union, login_as):
    vendored = project_root() / "admin" / "static" / "vendor"
    assert "Redistribution and use in source and binary forms" in (
        vendored / "quill-2.0.3" / "LICENSE"
    ).read_text("utf-8")
    assert "`quill-2.0.3/`" in (vendored / "README.md").read_text("utf-8")
    login_as(Role.officer, union.branch_a)
    for page in ("/admin/announcements/", "/admin/"):
        assert "editor.js" not in html(client.get(page)) and "quill" not in html(client.get(page))


def test_html_posted_by_the_editor_is_sanitised(app, client, union, login_as):
    login_as(Role.officer, union.branch_a)
    posted = (
        '<h2>通知</h2><p>请<strong>准时</strong>参加<img src="x" onerror="alert(1)">'
        '<a href="javascript:alert(2)" target="_blank">点我</a><a href="https://example.com/a">链接</a></p>'
        '<ol><li data-list="bullet"><span class="ql-ui" contenteditable="false"></span>一</li></ol>'
        '<p style="color:red" class="ql-align-center" onclick="steal()">段落</p>'
        '<script>alert(3)</script><iframe src="https://evil.example"></iframe>'
    )
    response = post(client, "/admin/announcements/new", _form(groups=[union.group_a], body_html=posted))
    assert response.status_code == 302, html(response)[:800]
    with app.app_context():
        body = db.session.scalars(sa.select(Announcement.body_html)).one()
    for dangerous in ("<script", "alert(3)", "onerror", "onclick", "javascript:", "<iframe", "style=",
                      "class=", "contenteditable", "data-list"):  # fmt: skip
        assert dangerous not in body, (dangerous, body)
    assert "<h2>通知</h2>" in body and "<strong>准时</strong>" in body and "<li>一</li>" in body
    assert '<a href="https://example.com/a" rel="noopener">链接</a>' in body


def test_the_audience_is_a_tree_of_checkboxes_with_the_officers_scope_ticked(client, union, login_as):
    login_as(Role.officer, union.branch_a)
    page = html(client.get("/admin/announcements/new"))
    assert "<select" not in page[page.index('class="group-tree"') :][:2000]
    boxes = re.findall(r'<li class="depth-(\d)"><label class="check"><input([^>]*)> ([^<]+)</label>', page)
    assert [(depth, name) for depth, _, name in boxes] == [("0", "甲分会"), ("1", "甲一组")]
    checked = [name for _, attrs, name in boxes if "checked" in attrs]
    assert checked == ["甲分会"]
    assert all('type="checkbox"' in attrs and 'name="groups"' in attrs for _, attrs, _ in boxes)


def test_staff_holding_the_whole_union_start_with_the_whole_union(client, union, login_as):
    login_as(Role.chair, union.root)
    page = html(client.get("/admin/announcements/new"))
    assert re.search(r'<input checked[^>]*value="union"|<input[^>]*value="union"[^>]*checked', page)
    tree = page[page.index('class="group-tree"') :]
    assert "checked" not in tree[: tree.index("</fieldset>")]
    names = re.findall(r'<li class="depth-\d"><label class="check"><input[^>]*> ([^<]+)</label>', page)
    assert names == ["测试公司工会", "甲分会", "甲一组", "乙分会", "乙一组"]  # the tree's order


def test_ticking_several_groups_saves_them_all(app, client, union, login_as):
    login_as(Role.chair, union.root)
    response = post(
        client, "/admin/announcements/new", _form(groups=[union.group_a, union.branch_b], body_html="x")
    )
    assert response.status_code == 302, html(response)[:800]
    with app.app_context():
        announcement = db.session.scalars(sa.select(Announcement)).one()
        assert {g.id for g in announcement.groups} == {union.group_a, union.branch_b}


# --- deleting drafts ---------------------------------------------------------------------------------


def test_a_draft_is_deleted_with_its_attachments_and_the_deletion_is_audited(app, client, union, login_as):
    staff = login_as(Role.officer, union.branch_a)
    draft, [upload_id] = announcement_with_files(
        app, staff, [(PDF, "议程.pdf")], publish=False, group_ids=[union.group_a], title="要删的草稿"
    )
    page = html(client.get(f"/admin/announcements/{draft}"))
    assert 'data-confirm="删除后这份草稿和它的附件都不能恢复。确定删除「要删的草稿」吗？"' in page
    assert f'action="/admin/announcements/{draft}/delete"' in page

    response = post(client, f"/admin/announcements/{draft}/delete", follow_redirects=True)
    assert "草稿已删除" in html(response)
    assert get(app, Announcement, draft) is None and get(app, Upload, upload_id) is None
    with app.app_context():
        row = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "announcement.delete")).one()
        assert row.object_id == draft and row.detail["title"] == "要删的草稿"
        assert [u["filename"] for u in row.detail["uploads"]] == ["议程.pdf"]


def test_only_drafts_can_be_deleted(app, client, union, login_as):
    from datetime import UTC, datetime

    staff = login_as(Role.officer, union.branch_a)
    published = make_announcement(app, staff, group_ids=[union.group_a])
    scheduled = make_announcement(
        app, staff, group_ids=[union.group_a], publish_at=datetime(2099, 1, 1, tzinfo=UTC)
    )
    for announcement_id in (published, scheduled):
        assert "删除草稿" not in html(client.get(f"/admin/announcements/{announcement_id}"))
        response = post(client, f"/admin/announcements/{announcement_id}/delete", follow_redirects=True)
        assert "只有草稿可以删除" in html(response)
        assert get(app, Announcement, announcement_id) is not None
    assert "请先「取消定时」" in html(client.get(f"/admin/announcements/{scheduled}"))
    assert get(app, Announcement, scheduled).status == AnnouncementStatus.scheduled


def test_a_draft_outside_scope_is_404_and_stays(app, client, union, login_as):
    other = make_announcement(
        app, make_staff(app, Role.officer, union.branch_b), group_ids=[union.group_b], publish=False
    )
    login_as(Role.officer, union.branch_a)
    assert_html_error(post(client, f"/admin/announcements/{other}/delete"), 404)
    assert count(app, Announcement, Announcement.id == other) == 1


def test_deleting_without_the_csrf_token_is_refused(app, client, union, login_as):
    staff = login_as(Role.officer, union.branch_a)
    draft = make_announcement(app, staff, group_ids=[union.group_a], publish=False)
    assert_html_error(client.post(f"/admin/announcements/{draft}/delete"), 400)
    assert get(app, Announcement, draft) is not None
