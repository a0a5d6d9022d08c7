"""POST /api/v1/uploads and GET /api/v1/uploads/{id}: what is accepted, and who may read it back."""

from __future__ import annotations

from io import BytesIO
from urllib.parse import quote

import pytest

from backend.uploads.models import Upload
from backend.uploads.storage import human_size
from tests.factories import (
    EXE,
    HTML,
    JPEG_SIGNATURE_THEN_HTML,
    PDF,
    act,
    announcement_with_files,
    api_login,
    api_upload,
    auth,
    bound_member,
    count,
    get,
    jpeg_bytes,
    png_bytes,
    stored_files,
)


def test_an_active_member_uploads_a_photo(app, client, emu, union, upload_dir):
    member_id, token = bound_member(app, client, emu, union.group_a)
    data = jpeg_bytes()
    response = api_upload(client, token, data, "体检单.jpg")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body == {
        "id": body["id"],
        "filename": "体检单.jpg",
        "content_type": "image/jpeg",
        "size": len(data),
    }
    stored = get(app, Upload, body["id"])
    assert stored.member_id == member_id and stored.attached_at is None
    [path] = stored_files(upload_dir)
    assert path.name == stored.storage_name
    assert data not in path.read_bytes()  # encrypted at rest
    assert client.get(f"/api/v1/uploads/{body['id']}", headers=auth(token)).data == data


def test_a_png_renamed_pdf_is_stored_as_png(app, client, emu, union, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    response = api_upload(client, token, png_bytes(), "扫描件.pdf")
    assert response.status_code == 201
    assert response.get_json()["content_type"] == "image/png"
    assert response.get_json()["filename"] == "扫描件.png"


@pytest.mark.parametrize(
    ("data", "name"),
    [(HTML, "photo.jpg"), (EXE, "photo.jpg"), (EXE, "证明.pdf"), (JPEG_SIGNATURE_THEN_HTML, "photo.jpg")],
    ids=["html-as-jpg", "exe-as-jpg", "exe-as-pdf", "jpeg-signature-then-html"],
)
def test_other_types_are_415_whatever_their_name(app, client, emu, union, upload_dir, data, name):
    _, token = bound_member(app, client, emu, union.group_a)
    response = api_upload(client, token, data, name)
    assert response.status_code == 415
    body = response.get_json()
    assert body["error"] == "unsupported_type" and "PDF" in body["message"]
    assert count(app, Upload) == 0 and stored_files(upload_dir) == []


def test_a_file_over_the_limit_is_413_too_large(app, client, emu, union, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    app.config["UPLOAD_MAX_BYTES"] = 2048
    try:
        response = api_upload(client, token, PDF + b"x" * 4096, "大文件.pdf")
        at_limit = api_upload(client, token, PDF + b"x" * (2048 - len(PDF)), "刚好.pdf")
    finally:
        app.config["UPLOAD_MAX_BYTES"] = 10 * 1024 * 1024
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_large" and "2 KB" in response.get_json()["message"]
    assert at_limit.status_code == 201
    assert count(app, Upload) == 1 and len(stored_files(upload_dir)) == 1


def test_a_body_over_the_request_limit_is_413_too(app, client, emu, union, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    app.config["MAX_CONTENT_LENGTH"] = 4096
    try:
        response = api_upload(client, token, PDF + b"x" * 8192, "大文件.pdf")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 12 * 1024 * 1024
    assert response.status_code == 413 and response.get_json()["error"] == "too_large"
    assert count(app, Upload) == 0


def test_missing_or_empty_file_is_422_in_chinese(app, client, emu, union, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    missing = client.post("/api/v1/uploads", data={}, headers=auth(token), content_type="multipart/form-data")
    as_json = client.post("/api/v1/uploads", json={"file": "x"}, headers=auth(token))
    empty = api_upload(client, token, b"", "空.pdf")
    for response in (missing, as_json):
        assert response.status_code == 422
        assert response.get_json()["errors"] == {"file": ["请选择要上传的文件"]}
    assert empty.status_code == 422
    assert empty.get_json()["errors"] == {"file": ["文件是空的，请重新选择"]}
    assert count(app, Upload) == 0 and stored_files(upload_dir) == []


def test_only_active_members_upload(app, client, emu, union, upload_dir):
    token = api_login(client, emu, "wx-not-yet-a-member")
    response = api_upload(client, token, png_bytes(), "a.png")
    assert response.status_code == 403 and response.get_json()["error"] == "member_not_active"
    assert client.post("/api/v1/uploads", data={"file": (BytesIO(PDF), "a.pdf")}).status_code == 401
    assert count(app, Upload) == 0 and stored_files(upload_dir) == []


def test_uploads_are_rate_limited_per_member_not_per_login(app, client, emu, union, upload_dir, monkeypatch):
    _, first_login = bound_member(app, client, emu, union.group_a, openid="wx-uploader")
    _, someone_else = bound_member(app, client, emu, union.group_a)
    monkeypatch.setitem(app.config, "UPLOAD_RATE_LIMIT", "2 per hour")
    assert api_upload(client, first_login, PDF, "1.pdf").status_code == 201
    second_login = api_login(client, emu, "wx-uploader")  # a fresh token does not start a fresh count
    assert api_upload(client, second_login, PDF, "2.pdf").status_code == 201
    refused = api_upload(client, second_login, PDF, "3.pdf")
    assert refused.status_code == 429 and refused.get_json()["error"] == "rate_limited"
    assert api_upload(client, first_login, PDF, "4.pdf").status_code == 429
    assert api_upload(client, someone_else, PDF, "5.pdf").status_code == 201
    assert count(app, Upload) == 3


def test_a_member_over_the_pending_quota_gets_429_and_nothing_is_kept(
    app, client, emu, union, upload_dir, monkeypatch
):
    _, token = bound_member(app, client, emu, union.group_a)
    _, someone_else = bound_member(app, client, emu, union.group_a)
    monkeypatch.setitem(app.config, "UPLOAD_MEMBER_PENDING_BYTES", 2 * len(PDF))
    assert api_upload(client, token, PDF, "1.pdf").status_code == 201
    assert api_upload(client, token, PDF, "2.pdf").status_code == 201  # exactly at the limit is allowed

    refused = api_upload(client, token, PDF, "3.pdf", **{"Idempotency-Key": "over"})
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["error"] == "upload_quota_exceeded"
    assert "还没提交" in body["message"] and human_size(2 * len(PDF)) in body["message"]
    assert count(app, Upload) == 2 and len(stored_files(upload_dir)) == 2  # nothing in tmp/ either
    assert api_upload(client, someone_else, PDF, "a.pdf").status_code == 201


# --- reading back ------------------------------------------------------------------------------


def test_the_owner_gets_the_file_with_safe_headers(app, client, emu, union, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    data = PDF
    upload_id = api_upload(client, token, data, "病历 (复印件).pdf").get_json()["id"]

    response = client.get(f"/api/v1/uploads/{upload_id}", headers=auth(token))
    assert response.status_code == 200
    assert response.get_data() == data
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert (
        disposition.startswith("attachment;")
        and f"filename*=UTF-8''{quote('病历 (复印件).pdf')}" in disposition
    )
    cache = response.headers["Cache-Control"]
    assert "private" in cache and "public" not in cache
    assert "no-cache" in cache and "no-store" not in cache  # the phone may keep its own copy
    response.close()


def test_another_member_gets_404_exactly_like_a_missing_id(app, client, emu, union, upload_dir):
    _, owner = bound_member(app, client, emu, union.group_a)
    _, other = bound_member(app, client, emu, union.group_a)
    upload_id = api_upload(client, owner, png_bytes(), "a.png").get_json()["id"]

    refused = client.get(f"/api/v1/uploads/{upload_id}", headers=auth(other))
    missing = client.get("/api/v1/uploads/999999", headers=auth(other))
    assert refused.status_code == missing.status_code == 404
    assert refused.get_json() == missing.get_json()
    assert client.get(f"/api/v1/uploads/{upload_id}").status_code == 401


def _published_with_attachment(app, staff_id, **audience) -> tuple[int, int]:
    announcement_id, [upload_id] = announcement_with_files(app, staff_id, [(PDF, "通知附件.pdf")], **audience)
    return announcement_id, upload_id


def test_announcement_attachments_follow_the_announcements_audience(
    app, client, emu, union, root_officer, upload_dir
):
    _, reader = bound_member(app, client, emu, union.group_a)
    _, outsider = bound_member(app, client, emu, union.group_b)
    announcement_id, upload_id = _published_with_attachment(app, root_officer, group_ids=[union.branch_a])

    detail = client.get(f"/api/v1/announcements/{announcement_id}", headers=auth(reader)).get_json()
    assert detail["attachments"] == [
        {
            "id": upload_id,
            "filename": "通知附件.pdf",
            "url": f"/api/v1/uploads/{upload_id}",
            "content_type": "application/pdf",
            "size": len(PDF),
        }
    ]
    response = client.get(detail["attachments"][0]["url"], headers=auth(reader))
    assert response.status_code == 200 and response.get_data() == PDF
    response.close()
    assert client.get(f"/api/v1/uploads/{upload_id}", headers=auth(outsider)).status_code == 404


def test_a_withdrawn_announcements_attachments_are_no_longer_served(
    app, client, emu, union, root_officer, upload_dir
):
    _, reader = bound_member(app, client, emu, union.group_a)
    announcement_id, upload_id = _published_with_attachment(app, root_officer, group_ids=[union.group_a])
    first = client.get(f"/api/v1/uploads/{upload_id}", headers=auth(reader))
    assert first.status_code == 200
    first.close()

    act(app, announcement_id, "withdraw", root_officer)
    assert client.get(f"/api/v1/uploads/{upload_id}", headers=auth(reader)).status_code == 404


def test_a_draft_announcements_attachments_are_not_served_to_members(
    app, client, emu, union, root_officer, upload_dir
):
    _, reader = bound_member(app, client, emu, union.group_a)
    _, [upload_id] = announcement_with_files(
        app, root_officer, [(png_bytes(), "海报.png")], group_ids=[union.group_a], publish=False
    )
    assert client.get(f"/api/v1/uploads/{upload_id}", headers=auth(reader)).status_code == 404


def test_announcement_attachments_are_not_served_to_accounts_that_are_not_active_members(
    app, client, emu, union, root_officer, upload_dir
):
    from backend.db import unit_of_work
    from backend.extensions import db
    from backend.members.models import Member, MemberStatus
    from backend.members.operations import set_member_status

    stranger = api_login(client, emu, "wx-stranger")
    leaver_id, _ = bound_member(app, client, emu, union.group_a, openid="wx-leaver")
    _, public = _published_with_attachment(app, root_officer, whole_union=True)
    _, group_only = _published_with_attachment(app, root_officer, group_ids=[union.group_a])
    with app.app_context(), unit_of_work():
        set_member_status(db.session.get(Member, leaver_id), MemberStatus.left, staff=None)
    leaver = api_login(client, emu, "wx-leaver")

    for token in (stranger, leaver):
        for upload_id in (public, group_only):
            response = client.get(f"/api/v1/uploads/{upload_id}", headers=auth(token))
            response.close()  # a file answer holds the file open
            assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_a_file_missing_from_disk_is_404_not_500(app, client, emu, union, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    upload_id = api_upload(client, token, png_bytes(), "a.png").get_json()["id"]
    for path in stored_files(upload_dir):
        path.unlink()
    assert client.get(f"/api/v1/uploads/{upload_id}", headers=auth(token)).status_code == 404


def test_config_announces_the_limits(app, client):
    body = client.get("/api/v1/config").get_json()
    assert body["upload"] == {
        "max_bytes": app.config["UPLOAD_MAX_BYTES"],
        "types": ["image/jpeg", "image/png", "application/pdf"],
    }
