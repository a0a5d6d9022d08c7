"""Announcement attachments in the admin, and the unread list's pages."""

from __future__ import annotations

from io import BytesIO
from urllib.parse import quote

import sqlalchemy as sa

import admin.views.announcements  # noqa: F401  (routes attach before the session's app registers them)
from backend.announcements.models import Announcement
from backend.audit.models import AuditLog
from backend.extensions import db
from backend.staff.models import Role
from backend.uploads.models import Upload
from tests.admin.conftest import assert_html_error, html, post
from tests.factories import (
    HTML,
    PDF,
    announcement_with_files,
    count,
    get,
    make_announcement,
    make_member,
    png_bytes,
    stored_files,
)


def _form(group_id: int, files=(), **overrides):
    data = {
        "title": "关于体检安排的通知",
        "category": "notice",
        "body_html": "<p>请按附件时间表参加体检。</p>",
        "audience": "groups",
        "groups": [group_id],
        "push": "y",
        "attachments": [(BytesIO(content), name) for content, name in files],
    }
    data.update(overrides)
    return data


def _send(client, url, data):
    return post(client, url, data, content_type="multipart/form-data")


def _attachments(app, announcement_id):
    with app.app_context():
        announcement = db.session.get(Announcement, announcement_id)
        return [
            (u.filename, u.content_type, u.staff_id, u.attached_at is not None)
            for u in announcement.attachments
        ]


def test_staff_attach_files_when_writing_and_the_preview_shows_them(app, client, union, login_as, upload_dir):
    staff = login_as(Role.officer, union.branch_a)
    files = [(PDF, "体检时间表.pdf"), (png_bytes(), "体检地点.png")]
    response = _send(client, "/admin/announcements/new", _form(union.group_a, files))
    assert response.status_code == 302, html(response)[:1000]

    with app.app_context():
        announcement_id = db.session.scalar(sa.select(Announcement.id))
    assert _attachments(app, announcement_id) == [
        ("体检时间表.pdf", "application/pdf", staff, True),
        ("体检地点.png", "image/png", staff, True),
    ]
    assert len(stored_files(upload_dir)) == 2
    assert count(app, AuditLog, AuditLog.action == "announcement.attach") == 1
    preview = html(client.get(response.headers["Location"]))
    assert preview.count("体检时间表.pdf") == 2 and 'class="phone-attachment"' in preview


def test_a_file_that_is_not_jpg_png_or_pdf_is_shown_on_the_form_and_nothing_is_saved(
    app, client, union, login_as, upload_dir
):
    login_as(Role.officer, union.branch_a)
    files = [(PDF, "好的.pdf"), (HTML, "照片.jpg")]
    response = _send(client, "/admin/announcements/new", _form(union.group_a, files))
    assert response.status_code == 415
    page = html(response)
    assert "只能上传 JPG、PNG 图片或 PDF 文件" in page and "关于体检安排的通知" in page
    assert count(app, Announcement) == 0 and count(app, Upload) == 0
    assert stored_files(upload_dir) == []


def test_a_refused_announcement_keeps_none_of_its_files(app, client, union, login_as, upload_dir):
    login_as(Role.officer, union.branch_a)
    response = _send(client, "/admin/announcements/new", _form(union.group_b, [(PDF, "a.pdf")]))
    assert response.status_code == 422
    assert count(app, Announcement) == 0 and count(app, Upload) == 0
    assert stored_files(upload_dir) == []


def test_too_many_attachments_is_a_form_error(app, client, union, login_as, upload_dir):
    login_as(Role.officer, union.branch_a)
    files = [(PDF, f"{n}.pdf") for n in range(21)]
    response = _send(client, "/admin/announcements/new", _form(union.group_a, files))
    assert response.status_code == 422 and "最多 20 个附件" in html(response)
    assert count(app, Upload) == 0 and stored_files(upload_dir) == []


def test_edit_adds_lists_and_removes_attachments(app, client, union, login_as, upload_dir):
    staff = login_as(Role.officer, union.branch_a)
    announcement_id = make_announcement(app, staff, group_ids=[union.group_a], publish=False)
    url = f"/admin/announcements/{announcement_id}/edit"
    assert _send(client, url, _form(union.group_a, [(PDF, "一.pdf")])).status_code == 302
    assert _send(client, url, _form(union.group_a, [(png_bytes(), "二.png")])).status_code == 302
    assert [a[0] for a in _attachments(app, announcement_id)] == ["一.pdf", "二.png"]

    edit = html(client.get(url))
    with app.app_context():
        first_id = db.session.scalar(sa.select(Upload.id).where(Upload.filename == "一.pdf"))
    remove = f"/admin/announcements/{announcement_id}/attachments/{first_id}/remove"
    assert "已添加的附件" in edit and f'action="{remove}"' in edit

    response = post(client, remove, follow_redirects=True)
    assert "附件已删除" in html(response)
    assert [a[0] for a in _attachments(app, announcement_id)] == ["二.png"]
    assert get(app, Upload, first_id) is None and len(stored_files(upload_dir)) == 1
    assert count(app, AuditLog, AuditLog.action == "announcement.detach") == 1


def test_removing_needs_the_csrf_token(app, client, union, login_as, upload_dir):
    staff = login_as(Role.officer, union.branch_a)
    announcement_id, [upload_id] = announcement_with_files(
        app, staff, [(PDF, "a.pdf")], group_ids=[union.group_a], publish=False
    )
    response = client.post(f"/admin/announcements/{announcement_id}/attachments/{upload_id}/remove")
    assert_html_error(response, 400)
    assert get(app, Upload, upload_id) is not None


def test_a_published_announcements_attachments_cannot_be_removed(app, client, union, login_as, upload_dir):
    staff = login_as(Role.officer, union.branch_a)
    announcement_id, [upload_id] = announcement_with_files(
        app, staff, [(PDF, "a.pdf")], group_ids=[union.group_a]
    )

    response = post(
        client,
        f"/admin/announcements/{announcement_id}/attachments/{upload_id}/remove",
        follow_redirects=True,
    )
    assert "不能再修改" in html(response)
    assert get(app, Upload, upload_id) is not None and len(stored_files(upload_dir)) == 1


def test_attachments_download_with_the_announcements_scope(
    app, client, union, root_officer, login_as, upload_dir
):
    mine, [mine_file] = announcement_with_files(
        app, root_officer, [(PDF, "甲组名单.pdf")], group_ids=[union.group_a], publish=False
    )
    others, [others_file] = announcement_with_files(
        app, root_officer, [(PDF, "乙组名单.pdf")], group_ids=[union.group_b], publish=False
    )

    login_as(Role.officer, union.branch_a)
    response = client.get(f"/admin/announcements/{mine}/attachments/{mine_file}")
    assert response.status_code == 200 and response.get_data() == PDF
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert f"filename*=UTF-8''{quote('甲组名单.pdf')}" in response.headers["Content-Disposition"]
    cache = response.headers["Cache-Control"]
    assert "no-store" in cache and "no-cache" not in cache and "public" not in cache  # shared office PCs
    response.close()
    # Another branch's announcement, and its file reached through an announcement in scope: both 404.
    assert_html_error(client.get(f"/admin/announcements/{others}/attachments/{others_file}"), 404)
    assert_html_error(client.get(f"/admin/announcements/{mine}/attachments/{others_file}"), 404)


def test_group_leaders_cannot_download_attachments(app, client, union, root_officer, login_as, upload_dir):
    announcement_id, [upload_id] = announcement_with_files(
        app, root_officer, [(PDF, "a.pdf")], group_ids=[union.group_a], publish=False
    )
    login_as(Role.group_leader, union.root)
    assert_html_error(client.get(f"/admin/announcements/{announcement_id}/attachments/{upload_id}"), 403)


def test_the_unread_list_is_paginated(app, client, union, login_as):
    staff = login_as(Role.officer, union.branch_a)
    for n in range(53):
        make_member(app, union.group_a, name=f"会员{n:02d}", employee_no=f"P{n:03d}")
    announcement_id = make_announcement(app, staff, group_ids=[union.group_a], push=False)

    first = html(client.get(f"/admin/announcements/{announcement_id}/figures"))
    second = html(client.get(f"/admin/announcements/{announcement_id}/figures?page=2"))
    assert "未读会员（53 人）" in first and "共 53 条" in first
    assert first.count("<td>P0") == 50 and second.count("<td>P0") == 3
    assert "P000" in first and "P052" in second and "P052" not in first
    beyond = html(client.get(f"/admin/announcements/{announcement_id}/figures?page=9"))
    assert "未读会员（53 人）" in beyond and "所有接收的会员都已阅读" not in beyond
