"""/me/export covers hardship applications and the file; DELETE /me erases drafts and withdrawn ones and
keeps decided ones; a withdrawal during the 公示 takes the notice down."""

from __future__ import annotations

from backend.announcements.models import Announcement, AnnouncementStatus
from backend.hardship.models import HardshipApplication, Status
from backend.uploads.models import Upload
from tests.backend.hardship.helpers import FIELDS, Cast, pay
from tests.factories import api_upload, auth, bound_member, count, get, png_bytes


def test_export_and_delete(client, emu, app, union, upload_dir):
    cast = Cast(app, union)
    member_id, token = bound_member(app, client, emu, union.group_a)
    decided = cast.to(Status.approved, member_id=member_id)
    cast.run(lambda: pay(cast, decided, 100_000))
    upload = api_upload(client, token, png_bytes(), "证明.png").get_json()["id"]
    assert get(app, HardshipApplication, decided).status == Status.disbursed
    draft = client.post(
        "/api/v1/hardship/applications", json={**FIELDS, "attachment_ids": [upload]}, headers=auth(token)
    )
    assert draft.status_code == 201, draft.get_json()
    exported = client.get("/api/v1/me/export", headers=auth(token)).get_json()
    assert [a["status"] for a in exported["hardship_applications"]] == ["disbursed", "draft"]
    assert exported["hardship_applications"][0]["reason"] == FIELDS["reason"]
    assert exported["hardship_file"]["status"] == "active"
    assert client.get("/api/v1/hardship/file", headers=auth(token)).get_json()["tier"] == "deep"
    assert client.delete("/api/v1/me", headers=auth(token)).status_code == 204
    assert get(app, HardshipApplication, draft.get_json()["id"]) is None
    assert count(app, Upload, Upload.id == upload) == 0
    kept = get(app, HardshipApplication, decided)
    assert kept.status == Status.disbursed and kept.member_id == member_id  # the roster entry stays


def test_withdrawing_during_the_notice_takes_it_down(client, emu, app, union):
    cast = Cast(app, union)
    member_id, token = bound_member(app, client, emu, union.group_a)
    application_id = cast.to(Status.publicized, member_id=member_id)
    notice = get(app, HardshipApplication, application_id).publicity_announcement_id
    announcement = get(app, Announcement, notice)
    assert announcement.status == AnnouncementStatus.published
    assert "生活救助" in announcement.body_html and "妻子" not in announcement.body_html
    assert "元" not in announcement.body_html  # no amounts, no income
    response = client.post(f"/api/v1/hardship/applications/{application_id}/withdraw", headers=auth(token))
    assert response.get_json()["status"] == "withdrawn"
    assert get(app, Announcement, notice).status == AnnouncementStatus.withdrawn
