"""Attachment contents are encrypted at rest with DATA_KEY: the file in UPLOAD_DIR never holds the plain
bytes; the applicant (API) and staff in scope (admin) get the original bytes back; `flask
rotate-data-key` moves the files under the new key (and encrypts files stored before encryption)."""

from __future__ import annotations

import pytest

from backend.extensions import db
from backend.uploads import at_rest, storage
from backend.uploads.at_rest import MARKER, read_plain
from backend.uploads.models import Upload
from backend.uploads.storage import stored_path
from tests.backend.hardship.helpers import Cast
from tests.factories import Staff, api_upload, auth, bound_member, get, png_bytes, staff_login

OLD, NEW = "test-data-key", "a-brand-new-data-key"


def _raw(app, upload_id: int) -> bytes:
    with app.app_context():
        return stored_path(db.session.get(Upload, upload_id).storage_name).read_bytes()


@pytest.fixture
def case(app, client, emu, union, upload_dir):
    cast = Cast(app, union)
    member_id, token = bound_member(app, client, emu, union.group_a)
    cast.member = member_id
    data = png_bytes((40, 30))
    upload_id = api_upload(client, token, data, "病历.png").get_json()["id"]
    application_id = cast.submitted(attachment_ids=[upload_id])
    officer = app.test_client()
    assert staff_login(officer, get(app, Staff, cast.officer).username).status_code == 302
    urls = {
        "applicant": (client, f"/api/v1/uploads/{upload_id}", auth(token)),
        "officer": (officer, f"/admin/hardship/{application_id}/attachments/{upload_id}", {}),
    }
    return data, upload_id, urls


def _served(urls) -> dict[str, bytes]:
    got = {}
    for who, (client, url, headers) in urls.items():
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (who, response.status_code)
        got[who] = response.data
        response.close()
    return got


def test_the_file_on_disk_is_encrypted_and_readers_get_the_original(app, case):
    data, upload_id, urls = case
    raw = _raw(app, upload_id)
    assert raw.startswith(MARKER) and data not in raw and b"PNG" not in raw and b"IHDR" not in raw
    assert _served(urls) == {"applicant": data, "officer": data}


def test_rotation_keeps_files_readable_under_the_new_key_only(app, case, monkeypatch):
    data, upload_id, urls = case
    before = _raw(app, upload_id)
    monkeypatch.setitem(app.config, "DATA_KEY", f"{NEW},{OLD}")
    monkeypatch.setitem(app.config, "DATA_INDEX_KEY", OLD)
    result = app.test_cli_runner().invoke(args=["rotate-data-key", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "上传文件：重新加密 1 个" in result.output
    after = _raw(app, upload_id)
    assert after != before and data not in after
    monkeypatch.setitem(app.config, "DATA_KEY", NEW)  # the old key gone: the file still opens
    assert _served(urls) == {"applicant": data, "officer": data}
    with app.app_context(), pytest.raises(RuntimeError):
        monkeypatch.setitem(app.config, "DATA_KEY", OLD)
        read_plain(stored_path(get(app, Upload, upload_id).storage_name))


def test_a_file_stored_before_encryption_is_served_and_rotation_encrypts_it(app, case):
    data, upload_id, urls = case
    with app.app_context():
        path = stored_path(db.session.get(Upload, upload_id).storage_name)
    path.write_bytes(data)  # as files were written before uploads were encrypted
    assert _served(urls)["applicant"] == data
    assert app.test_cli_runner().invoke(args=["rotate-data-key"]).exit_code == 0
    assert data not in path.read_bytes() and path.read_bytes().startswith(MARKER)
    assert _served(urls) == {"applicant": data, "officer": data}
    assert not list((path.parent.parent.parent / "tmp").glob("*.part"))  # no temporary file left


def test_a_revalidation_with_the_etag_is_answered_without_decrypting(app, case, monkeypatch):
    _, _, urls = case
    client, url, headers = urls["applicant"]
    first = client.get(url, headers=headers)
    etag = first.headers["ETag"]
    first.close()
    monkeypatch.setattr(storage, "read_plain", _never)
    again = client.get(url, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert (
        "private" in again.headers["Cache-Control"] and again.headers["X-Content-Type-Options"] == "nosniff"
    )


def _never(path):
    raise AssertionError("decrypted for a 304")


def test_rotation_counts_a_missing_file_and_never_brings_back_one_deleted_meanwhile(app, case, monkeypatch):
    """A file gone before rotation reads is counted as missing; one deleted while rotation rewrites it
    (the staff member removed the attachment) is not written back from the temporary copy."""
    _, upload_id, _ = case
    with app.app_context():
        path = stored_path(db.session.get(Upload, upload_id).storage_name)
    path.unlink()
    result = app.test_cli_runner().invoke(args=["rotate-data-key"])
    assert result.exit_code == 0 and "1 个文件不在上传目录中" in result.output, result.output
    assert not path.exists()

    path.write_bytes(png_bytes((20, 20)))  # back, then deleted while it is being rewritten

    def deleted_meanwhile(stored: bytes) -> bytes:
        path.unlink()
        return stored

    monkeypatch.setattr(at_rest, "reencrypt_bytes", deleted_meanwhile)
    monkeypatch.setattr(at_rest, "seal", deleted_meanwhile)
    result = app.test_cli_runner().invoke(args=["rotate-data-key"])
    assert result.exit_code == 0 and "1 个文件不在上传目录中" in result.output, result.output
    assert not path.exists()
