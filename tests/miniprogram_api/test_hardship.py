from __future__ import annotations

import pytest

from backend.db import unit_of_work
from backend.extensions import db
from backend.hardship.models import Status
from backend.hardship.standards import save_standard, today
from backend.staff.models import Role, Staff
from tests.backend.hardship.helpers import CONSENT, FIELDS
from tests.factories import api_upload, auth, bound_member, make_staff, png_bytes

BASE = "/api/v1/hardship"


@pytest.fixture
def standard(app, union):
    admin = make_staff(app, Role.admin, union.root)
    with app.app_context(), unit_of_work():
        save_standard(
            staff=db.session.get(Staff, admin),
            year=today().year,
            dibao_monthly_fen=100_000,
            fund_total_fen=10**7,
        )


def test_self_test_formula_rounding_and_tiers(client, emu, app, union, standard):
    _, token = bound_member(app, client, emu, union.group_a)
    body = {"household_size": 7, "household_income_fen": 1_000_000, "hardship_expenses_fen": 0}
    answer = client.post(f"{BASE}/self-test", json=body, headers=auth(token)).get_json()
    assert answer["per_capita_monthly_fen"] == 1_000_000 // 84  # 11904.76 → 11904, rounded down
    assert answer["dibao_monthly_fen"] == 100_000 and answer["tier"] == "deep"
    assert "低保" in answer["explanation"]
    cases = [
        (1, 12 * 100_000, 0, False, "deep"),
        (1, 12 * 100_001, 0, False, "relative"),
        (1, 12 * 200_000, 0, False, "relative"),
        (1, 12 * 200_001, 0, False, "none"),
        (1, 12 * 200_001, 0, True, "sudden"),
        (1, 100_000_000, 80_000_001, False, "sudden"),
        (1, 100_000_000, 75_000_000, False, "none"),
    ]
    for size, income, expenses, sudden, tier in cases:
        body = {
            "household_size": size,
            "household_income_fen": income,
            "hardship_expenses_fen": expenses,
            "sudden_event": sudden,
        }
        assert client.post(f"{BASE}/self-test", json=body, headers=auth(token)).get_json()["tier"] == tier, (
            body
        )


def test_self_test_refuses_bad_input_and_anonymous(client, emu, app, union, standard):
    _, token = bound_member(app, client, emu, union.group_a)
    assert client.post(f"{BASE}/self-test", json={"household_size": 1}).status_code == 401
    bad = client.post(
        f"{BASE}/self-test", json={"household_size": 0, "household_income_fen": -1}, headers=auth(token)
    )
    assert bad.status_code == 422 and bad.get_json()["error"] == "validation_error"


def test_applicant_flow(client, emu, app, union, standard, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    upload = api_upload(client, token, png_bytes(), "病历.png").get_json()["id"]
    body = {**FIELDS, "attachment_ids": [upload], "consent": {"version": "2026-1", "sensitive_data": True}}
    created = client.post(f"{BASE}/applications", json=body, headers=auth(token))
    assert created.status_code == 201, created.get_json()
    application = created.get_json()
    assert application["status"] == "draft" and application["household_income_fen"] == 3_600_000
    assert application["attachments"][0]["id"] == upload
    again = client.post(f"{BASE}/applications", json=FIELDS, headers=auth(token))
    assert again.status_code == 409 and again.get_json()["error"] == "open_application_exists"
    url = f"{BASE}/applications/{application['id']}"
    refused = client.post(f"{url}/submit", headers=auth(token))
    assert refused.status_code == 422 and "consent.income_check" in refused.get_json()["errors"]
    assert client.patch(url, json={"consent": CONSENT}, headers=auth(token)).status_code == 200
    submitted = client.post(f"{url}/submit", headers=auth(token))
    assert submitted.status_code == 200 and submitted.get_json()["status"] == "submitted"
    assert (
        client.patch(url, json={"reason": "改"}, headers=auth(token)).get_json()["error"] == "invalid_state"
    )
    detail = client.get(url, headers=auth(token)).get_json()
    assert [t["to_status"] for t in detail["timeline"]] == ["draft", "submitted"]
    listed = client.get(f"{BASE}/applications", headers=auth(token)).get_json()
    assert listed["total"] == 1
    assert client.post(f"{url}/withdraw", headers=auth(token)).get_json()["status"] == "withdrawn"
    assert client.post(f"{url}/withdraw", headers=auth(token)).status_code == 409
    assert client.get(f"{BASE}/file", headers=auth(token)).get_json() is None


@pytest.mark.parametrize("field", ["status", "tier", "granted_amount_fen", "disbursed_fen"])
def test_members_cannot_set_what_staff_decide(client, emu, app, union, standard, field):
    _, token = bound_member(app, client, emu, union.group_a)
    response = client.post(f"{BASE}/applications", json={**FIELDS, field: "approved"}, headers=auth(token))
    assert response.status_code == 422
    created = client.post(f"{BASE}/applications", json=FIELDS, headers=auth(token)).get_json()
    patched = client.patch(f"{BASE}/applications/{created['id']}", json={field: 1}, headers=auth(token))
    assert patched.status_code == 422
    assert (
        client.get(f"{BASE}/applications/{created['id']}", headers=auth(token)).get_json()["status"]
        == Status.draft
    )


def test_another_members_application_and_attachment_are_404(client, emu, app, union, standard, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    _, other = bound_member(app, client, emu, union.group_a)
    upload = api_upload(client, token, png_bytes(), "病历.png").get_json()["id"]
    created = client.post(
        f"{BASE}/applications", json={**FIELDS, "attachment_ids": [upload]}, headers=auth(token)
    )
    url = f"{BASE}/applications/{created.get_json()['id']}"
    for method, path in (
        ("get", url),
        ("patch", url),
        ("post", f"{url}/submit"),
        ("post", f"{url}/withdraw"),
    ):
        kwargs = {"json": {}} if method == "patch" else {}
        assert getattr(client, method)(path, headers=auth(other), **kwargs).status_code == 404
        assert getattr(client, method)(path, **kwargs).status_code == 401
    assert client.get(f"/api/v1/uploads/{upload}", headers=auth(other)).status_code == 404
    own = client.get(f"/api/v1/uploads/{upload}", headers=auth(token))
    assert own.status_code == 200
    own.close()


def test_consent_must_name_the_current_text(client, emu, app, union, standard, monkeypatch):
    _, token = bound_member(app, client, emu, union.group_a)
    shown = client.get("/api/v1/config").get_json()["hardship_consent"]
    assert shown["version"] == app.config["HARDSHIP_CONSENT_VERSION"] == CONSENT["version"]
    assert "敏感个人信息" in shown["text"]
    old = {**CONSENT, "version": "2025-1"}
    refused = client.post(f"{BASE}/applications", json={**FIELDS, "consent": old}, headers=auth(token))
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["error"] == "consent_outdated" and "告知书" in refused.get_json()["message"]
    created = client.post(f"{BASE}/applications", json=FIELDS, headers=auth(token)).get_json()
    url = f"{BASE}/applications/{created['id']}"
    patched = client.patch(url, json={"consent": old}, headers=auth(token))
    assert patched.get_json()["error"] == "consent_outdated"
    # The text changes after the applicant agreed: the draft must be agreed again before it is submitted.
    monkeypatch.setitem(app.config, "HARDSHIP_CONSENT_VERSION", "2027-1")
    outdated = client.post(f"{url}/submit", headers=auth(token))
    assert outdated.status_code == 422 and outdated.get_json()["error"] == "consent_outdated"
    again = {**CONSENT, "version": "2027-1"}
    assert client.patch(url, json={"consent": again}, headers=auth(token)).status_code == 200
    submitted = client.post(f"{url}/submit", headers=auth(token)).get_json()
    assert submitted["status"] == "submitted" and submitted["consent_version"] == "2027-1"
