"""The hardship admin pages: who may open and act on what (officer in scope / out of scope / chair /
admin / group leader / anonymous), the actions a viewer is offered, and the audit row per view."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.hardship.models import HardshipApplication, Status
from backend.hardship.review import end_publicity_due
from backend.staff.models import Staff
from backend.uploads.models import Upload
from tests.admin.conftest import html, post
from tests.backend.hardship.helpers import Cast
from tests.factories import count, get, make_upload, staff_login


def _client(app, cast: Cast, role: str):
    client = app.test_client()
    if role != "anonymous":
        staff = get(app, Staff, getattr(cast, role))
        assert staff_login(client, staff.username).status_code == 302
    return client


def _pages(application_id: int, upload_id: int) -> dict[str, str]:
    return {
        "queue": "/admin/hardship/",
        "application": f"/admin/hardship/{application_id}",
        "attachment": f"/admin/hardship/{application_id}/attachments/{upload_id}",
        "fund": "/admin/hardship/fund",
        "publicity": "/admin/hardship/publicity",
        "files": "/admin/hardship/files",
        "ledger": "/admin/hardship/ledger.xlsx",
    }


# role → what it gets on each page (the application is in branch A, group A).
EXPECTED = {
    "officer": {
        "publicity": 200,
        "queue": 200,
        "application": 200,
        "attachment": 200,
        "fund": 200,
        "files": 200,
        "ledger": 403,
    },
    "outsider": {
        "publicity": 200,
        "queue": 200,
        "application": 404,
        "attachment": 404,
        "fund": 200,
        "files": 200,
        "ledger": 403,
    },
    "chair": {
        "publicity": 200,
        "queue": 200,
        "application": 200,
        "attachment": 200,
        "fund": 200,
        "files": 200,
        "ledger": 200,
    },
    "admin": {
        "publicity": 200,
        "queue": 200,
        "application": 200,
        "attachment": 200,
        "fund": 200,
        "files": 200,
        "ledger": 200,
    },
    "leader": dict.fromkeys(
        ("publicity", "queue", "application", "attachment", "fund", "files", "ledger"), 403
    ),
}


def _with_attachment(app, cast: Cast, upload_dir) -> tuple[int, int]:
    upload_id = make_upload(app, cast.member)
    application_id = cast.submitted(attachment_ids=[upload_id])
    return application_id, upload_id


@pytest.mark.parametrize("role", [*EXPECTED, "anonymous"])
def test_page_permissions(app, union, upload_dir, role):
    cast = Cast(app, union)
    application_id, upload_id = _with_attachment(app, cast, upload_dir)
    client = _client(app, cast, role)
    for page, url in _pages(application_id, upload_id).items():
        response = client.get(url)
        if role == "anonymous":
            assert response.status_code == 302 and "/admin/login" in response.headers["Location"], page
            continue
        assert response.status_code == EXPECTED[role][page], (page, response.status_code)
        response.close()


def test_each_staff_view_writes_an_audit_row(app, union, upload_dir):
    cast = Cast(app, union)
    application_id, upload_id = _with_attachment(app, cast, upload_dir)
    client = _client(app, cast, "officer")
    body = html(client.get(f"/admin/hardship/{application_id}"))
    assert "妻子患重病住院" in body and "36,000.00 元" in body
    client.get(f"/admin/hardship/{application_id}/attachments/{upload_id}").close()
    assert count(app, AuditLog, AuditLog.action == "hardship.view", AuditLog.object_id == application_id) == 1
    assert count(app, AuditLog, AuditLog.action == "hardship.view_attachment") == 1
    with app.app_context():
        row = db.session.query(AuditLog).filter_by(action="hardship.view").one()
        assert "妻子" not in str(row.detail)
    with app.app_context():
        name = db.session.get(HardshipApplication, application_id).member.name
    queue = html(client.get("/admin/hardship/"))
    assert "妻子" not in queue and name not in queue and f"{name[0]}*" in queue  # masked in the list


def test_actions_through_the_admin_and_concurrent_refusal_message(app, union, upload_dir):
    cast = Cast(app, union)
    application_id = cast.submitted()
    officer, officer2 = _client(app, cast, "officer"), _client(app, cast, "officer2")
    page = html(officer.get(f"/admin/hardship/{application_id}"))
    assert "初审通过" in page and "终审批准" not in page
    assert post(officer, f"/admin/hardship/{application_id}/return", {"comment": ""}).status_code == 302
    assert cast.status(application_id) == Status.submitted  # a comment is required
    post(officer, f"/admin/hardship/{application_id}/first_approve", {"comment": "情况属实"})
    assert cast.status(application_id) == Status.first_approved
    # The second officer's page was loaded before: their approval now is refused with a message.
    refused = post(officer2, f"/admin/hardship/{application_id}/first_approve", follow_redirects=True)
    assert "只有待初审的申请可以初审" in html(refused)
    post(officer, f"/admin/hardship/{application_id}/start_publicity")
    assert cast.status(application_id) == Status.publicized
    post(officer, f"/admin/hardship/{application_id}/record_objection", {"comment": "邻居反映有车"})
    listed = html(officer.get("/admin/hardship/publicity"))
    assert "1 条" in listed and "妻子" not in listed
    cast.run(lambda: end_publicity_due(datetime.now(UTC) + timedelta(days=6)))
    chair = _client(app, cast, "chair")
    post(chair, f"/admin/hardship/{application_id}/final_approve", {"amount": "800.50"})
    assert get(app, HardshipApplication, application_id).granted_amount_fen == 80_050
    post(officer, f"/admin/hardship/{application_id}/pay", {"amount": "800.50", "method": "cash"})
    assert cast.status(application_id) == Status.disbursed
    ledger = chair.get("/admin/hardship/ledger.xlsx")
    sheet = load_workbook(io.BytesIO(ledger.data)).active
    assert [c.value for c in sheet[2]][:3] == ["生活救助", "深度困难", 1]
    assert count(app, AuditLog, AuditLog.action == "hardship.export") == 1
    assert post(officer, f"/admin/hardship/{application_id}/nonsense").status_code == 404


def test_standards_and_file_review_pages(app, union, upload_dir):
    cast = Cast(app, union)
    chair, officer = _client(app, cast, "chair"), _client(app, cast, "officer")
    data = {
        "year": "2031",
        "dibao": "1050.00",
        "fund_total": "200000",
        "fund_medical": "50000",
        "publicity_days": "7",
        "yearly_limit": "1",
    }
    assert post(officer, "/admin/hardship/standards", data).status_code == 403
    post(chair, "/admin/hardship/standards", data)
    page = html(chair.get("/admin/hardship/fund?year=2031"))
    assert "1,050.00 元" in page and "200,000.00 元" in page
    bad = post(chair, "/admin/hardship/standards", {**data, "dibao": "abc"}, follow_redirects=True)
    assert "请填写正确的金额" in html(bad)
    cast.to(Status.approved)
    assert "近 30 天没有需要复核的档案" in html(officer.get("/admin/hardship/files"))
    assert count(app, Upload) == 0
    refused = post(officer, "/admin/hardship/files/999999/review", {"outcome": "keep"})
    assert refused.status_code == 404


def test_staff_never_see_a_draft(app, union):
    cast = Cast(app, union)
    draft = cast.create()
    client = _client(app, cast, "chair")
    assert client.get(f"/admin/hardship/{draft}").status_code == 404
    assert "没有这一状态的申请" in html(client.get("/admin/hardship/"))
