"""API.md "Care": policy, requests with WeChat's content check (against the emulator), visits, the receipt
(idempotent) and feedback once; another member's request or visit is 404."""

from __future__ import annotations

import sqlalchemy as sa

from backend.care.models import CareCategory, CareRequest, ContentState
from backend.extensions import db
from backend.notifications.models import Notification
from backend.staff.models import Role
from tests.care_helpers import YEAR, policy, visit
from tests.factories import api_upload, auth, bound_member, get, make_staff, png_bytes

BODY = {"category": "hospitalization", "description": "因阑尾炎住院治疗", "occurred_on": f"{YEAR}-05-02"}


def _member(app, client, emu, union):
    return bound_member(app, client, emu, union.group_a)


def test_policy_lists_the_years_standards(app, client, emu, union):
    from backend.db import SHANGHAI, utcnow

    policy(app, year=utcnow().astimezone(SHANGHAI).year)
    _, token = _member(app, client, emu, union)
    answer = client.get("/api/v1/care/policy", headers=auth(token))
    assert answer.status_code == 200
    birthday = next(p for p in answer.get_json() if p["category"] == "birthday")
    assert birthday == {
        "category": "birthday",
        "label": "生日慰问",
        "standard": "生日蛋糕或慰问品",
        "max_amount_fen": 30000,
        "frequency": "per_year",
    }


def test_a_request_that_passes_is_queued_and_the_member_told(app, client, emu, union, upload_dir):
    member_id, token = _member(app, client, emu, union)
    upload = api_upload(client, token, png_bytes(), "住院证明.png").get_json()["id"]
    answer = client.post(
        "/api/v1/care/requests", json={**BODY, "attachment_ids": [upload]}, headers=auth(token)
    )
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["status"] == "submitted" and body["timeline"][0]["status"] == "submitted"
    assert get(app, CareRequest, body["id"]).content_state == ContentState.passed
    with app.app_context():
        kinds = db.session.scalars(
            sa.select(Notification.kind).where(Notification.member_id == member_id)
        ).all()
        assert "care" in [k.value for k in kinds]
    listed = client.get("/api/v1/care/requests", headers=auth(token)).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"]


def test_risky_text_is_refused_with_content_risky(app, client, emu, union):
    _, token = _member(app, client, emu, union)
    answer = client.post(
        "/api/v1/care/requests", json={**BODY, "description": "家里有人赌博欠债"}, headers=auth(token)
    )
    assert answer.status_code == 422
    assert answer.get_json()["error"] == "content_risky" and "内容安全" in answer.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CareRequest.id))) == 0


def test_review_text_is_held_for_staff(app, client, emu, union):
    _, token = _member(app, client, emu, union)
    answer = client.post(
        "/api/v1/care/requests", json={**BODY, "description": "想投诉一下医院"}, headers=auth(token)
    )
    assert answer.status_code == 201
    assert get(app, CareRequest, answer.get_json()["id"]).content_state == ContentState.held


def test_wechat_down_holds_the_request_for_review(app, client, emu, union):
    _, token = _member(app, client, emu, union)
    emu.add_fault("/wxa/msg_sec_check", errcode=-1, errmsg="system busy")
    answer = client.post("/api/v1/care/requests", json=BODY, headers=auth(token))
    assert answer.status_code == 201
    assert get(app, CareRequest, answer.get_json()["id"]).content_state == ContentState.held


def test_another_members_request_and_visit_are_404(app, client, emu, union):
    policy(app)
    member_id, token = _member(app, client, emu, union)
    _, other = bound_member(app, client, emu, union.group_b)
    request_id = client.post("/api/v1/care/requests", json=BODY, headers=auth(token)).get_json()["id"]
    staff = make_staff(app, Role.officer, union.root)
    visit_id = visit(app, staff, member_id)
    assert client.get(f"/api/v1/care/requests/{request_id}", headers=auth(other)).status_code == 404
    assert client.get(f"/api/v1/care/requests/{request_id}", headers=auth(token)).status_code == 200
    for path in ("receipt", "feedback"):
        answer = client.post(
            f"/api/v1/care/visits/{visit_id}/{path}", json={"rating": 5}, headers=auth(other)
        )
        assert answer.status_code == 404
    assert client.get("/api/v1/care/visits", headers=auth(other)).get_json()["total"] == 0


def test_receipt_is_idempotent_and_feedback_once(app, client, emu, union):
    policy(app)
    member_id, token = _member(app, client, emu, union)
    staff = make_staff(app, Role.officer, union.root)
    visit_id = visit(app, staff, member_id, CareCategory.birthday)
    listed = client.get("/api/v1/care/visits", headers=auth(token)).get_json()
    assert listed["items"][0]["received_at"] is None and listed["items"][0]["feedback"] is None
    first = client.post(f"/api/v1/care/visits/{visit_id}/receipt", headers=auth(token))
    again = client.post(f"/api/v1/care/visits/{visit_id}/receipt", headers=auth(token))
    assert first.status_code == again.status_code == 200
    assert first.get_json()["received_at"] and first.get_json() == again.get_json()
    rated = client.post(
        f"/api/v1/care/visits/{visit_id}/feedback",
        json={"rating": 5, "comment": "很暖心"},
        headers=auth(token),
    )
    assert rated.status_code == 201 and rated.get_json()["feedback"]["rating"] == 5
    twice = client.post(f"/api/v1/care/visits/{visit_id}/feedback", json={"rating": 1}, headers=auth(token))
    assert twice.status_code == 409 and twice.get_json()["error"] == "feedback_exists"
    bad = client.post(f"/api/v1/care/visits/{visit_id}/feedback", json={"rating": 6}, headers=auth(token))
    assert bad.status_code in (409, 422)


def test_risky_feedback_comment_is_refused(app, client, emu, union):
    policy(app)
    member_id, token = _member(app, client, emu, union)
    visit_id = visit(app, make_staff(app, Role.officer, union.root), member_id)
    answer = client.post(
        f"/api/v1/care/visits/{visit_id}/feedback", json={"rating": 3, "comment": "毒品"}, headers=auth(token)
    )
    assert answer.status_code == 422 and answer.get_json()["error"] == "content_risky"


def test_a_member_not_yet_active_cannot_file_a_request(app, client, emu, union):
    from tests.factories import api_login

    token = api_login(client, emu, "wx-unbound")
    assert client.post("/api/v1/care/requests", json=BODY, headers=auth(token)).status_code == 403
    assert client.get("/api/v1/care/requests", headers=auth(token)).get_json()["total"] == 0


def test_a_visit_photo_is_readable_by_its_member_only(app, client, emu, union, upload_dir):
    from io import BytesIO

    from backend.care.visits import record_visit
    from backend.db import unit_of_work
    from backend.staff.models import Staff
    from backend.uploads.storage import staged_uploads
    from tests.care_helpers import draft

    policy(app)
    member_id, token = _member(app, client, emu, union)
    _, other = bound_member(app, client, emu, union.group_b)
    staff = make_staff(app, Role.officer, union.root)
    with app.app_context(), staged_uploads([(BytesIO(png_bytes()), "照片.png")]) as files, unit_of_work():
        visit = record_visit(draft(member_id), staff=db.session.get(Staff, staff), photos=files)
        photo = visit.photos[0].id
    answer = client.get(f"/api/v1/uploads/{photo}", headers=auth(token))
    assert answer.status_code == 200
    answer.close()
    assert client.get(f"/api/v1/uploads/{photo}", headers=auth(other)).status_code == 404
