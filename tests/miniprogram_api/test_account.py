"""POST /me/subscriptions, GET /me/export, DELETE /me."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.members.models import ApiToken, JoinRequest, Member, MemberStatus, WechatAccount
from backend.notifications.models import Notification, SubscriptionCredit, SubscriptionGrant
from tests.backend.wechat.pushes import TOKEN, event, popup, push
from tests.factories import (
    ANNOUNCEMENT_TEMPLATE,
    api_login,
    auth,
    bound_member,
    count,
    get,
    make_member,
    make_union,
    send_notice,
)


def test_subscriptions_add_one_credit_per_accept(app, client, emu):
    union = make_union(app)
    _, token = bound_member(app, client, emu, union.group_a)
    activity = app.config["WECHAT_TEMPLATES"]["activity"]["template_id"]
    body = {"results": {ANNOUNCEMENT_TEMPLATE: "accept", activity: "reject"}}
    response = client.post("/api/v1/me/subscriptions", json=body, headers=auth(token))
    assert response.status_code == 200
    assert response.get_json()["credits"]["announcement"] == 1
    assert response.get_json()["credits"]["activity"] == 0
    client.post("/api/v1/me/subscriptions", json=body, headers=auth(token))
    assert client.get("/api/v1/me", headers=auth(token)).get_json()["credits"]["announcement"] == 2


@pytest.fixture
def callback_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_TOKEN", TOKEN)


def report(client, token: str, results: dict[str, str]) -> dict[str, int]:
    response = client.post("/api/v1/me/subscriptions", json={"results": results}, headers=auth(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["credits"]


# c: the mini-program's report of a tap (POST /me/subscriptions); p: WeChat's push of a tap.
@pytest.mark.parametrize("order", ["cp", "pc", "ccpp", "cpcp", "cppc", "pccp", "pcpc", "ppcc"])
def test_each_tap_counts_once_whatever_order_its_two_reports_arrive_in(app, client, emu, callback_on, order):
    token = api_login(client, emu, "wx-tap")
    first_push = int(time.time())
    reports = {"c": 0, "p": 0}
    for source in order:
        if source == "c":
            credits = report(client, token, {ANNOUNCEMENT_TEMPLATE: "accept"})["announcement"]
        else:
            message = popup("wx-tap", ANNOUNCEMENT_TEMPLATE, at=first_push + 20 * reports["p"])
            assert push(client, message).get_data(as_text=True) == "success"
            credits = client.get("/api/v1/me", headers=auth(token)).get_json()["credits"]["announcement"]
        reports[source] += 1
        # The taps both sources told us about so far: a report pairs with the other side's or adds one.
        assert credits == max(reports.values()), (order, reports)
    assert credits == len(order) // 2
    with app.app_context():
        assert all(g.paired_with_id for g in db.session.scalars(sa.select(SubscriptionGrant)))


def test_one_tap_on_several_templates_counts_once_per_accepted_template(app, client, emu, callback_on):
    token = api_login(client, emu, "wx-several")
    activity = app.config["WECHAT_TEMPLATES"]["activity"]["template_id"]
    care = app.config["WECHAT_TEMPLATES"]["care"]["template_id"]
    items = [
        {"TemplateId": care, "SubscribeStatusString": "reject"},
        {"TemplateId": activity, "SubscribeStatusString": "accept"},
        {"TemplateId": ANNOUNCEMENT_TEMPLATE, "SubscribeStatusString": "accept"},
    ]
    push(client, event("wx-several", "subscribe_msg_popup_event", items))
    credits = report(client, token, {ANNOUNCEMENT_TEMPLATE: "accept", activity: "accept", care: "reject"})
    assert credits == {"announcement": 1, "activity": 1, "application": 0, "care": 0}


def test_subscriptions_refuse_unknown_templates_and_results(app, client, emu):
    token = api_login(client, emu, "wx-1")
    unknown = client.post(
        "/api/v1/me/subscriptions", json={"results": {"tmpl_unknown": "accept"}}, headers=auth(token)
    )
    assert unknown.status_code == 422 and unknown.get_json()["error"] == "validation_error"
    assert unknown.get_json()["message"]
    bad = client.post(
        "/api/v1/me/subscriptions", json={"results": {ANNOUNCEMENT_TEMPLATE: "yes"}}, headers=auth(token)
    )
    assert bad.status_code == 422
    assert count(app, SubscriptionCredit) == 0


def test_export_holds_everything_about_the_caller_and_nothing_about_others(app, client, emu):
    union = make_union(app)
    member_id, token = bound_member(app, client, emu, union.group_a, phone="13912345678")
    other_id, _ = bound_member(app, client, emu, union.group_a, phone="13800001111")
    send_notice(app, member_id, key="mine", title="我的通知")
    send_notice(app, other_id, key="theirs", title="别人的通知")
    client.post(
        "/api/v1/me/subscriptions", json={"results": {ANNOUNCEMENT_TEMPLATE: "accept"}}, headers=auth(token)
    )

    response = client.get("/api/v1/me/export", headers=auth(token))
    assert response.status_code == 200
    data = response.get_json()
    assert data["member"]["phone"] == "13912345678"  # full, decrypted, for the owner
    assert data["member"]["id"] == member_id
    assert data["account"]["openid"].startswith("openid-")
    assert [n["title"] for n in data["notifications"]] == ["我的通知"]
    assert data["subscription_credits"][0]["template_id"] == ANNOUNCEMENT_TEMPLATE
    assert data["sessions"] and "token_hash" not in str(data)
    assert "session_key" not in str(data)
    assert "13800001111" not in str(data)
    assert count(app, AuditLog, AuditLog.action == "member.data_exported") == 1


def test_delete_me_removes_account_tokens_inbox_and_keeps_the_roster(app, client, emu):
    union = make_union(app)
    member_id, token = bound_member(app, client, emu, union.group_a)
    send_notice(app, member_id, key="mine")
    client.post(
        "/api/v1/me/subscriptions", json={"results": {ANNOUNCEMENT_TEMPLATE: "accept"}}, headers=auth(token)
    )

    assert client.delete("/api/v1/me", headers=auth(token)).status_code == 204
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 401
    assert count(app, WechatAccount) == 0 and count(app, ApiToken) == 0
    assert count(app, Notification) == 0 and count(app, SubscriptionCredit) == 0
    assert count(app, SubscriptionGrant) == 0  # the record of the worker's taps goes with the account
    member = get(app, Member, member_id)
    assert member is not None and member.status == MemberStatus.active and member.name.startswith("测试")
    with app.app_context():
        audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "member.account_deleted"))
        assert audit.actor_member_id == member_id and audit.detail["reason"] == "member_request"
        assert audit.detail["roster_kept"] is True

    # Logging in again starts over: a fresh, unbound account.
    again = api_login(client, emu, f"openid-{member.employee_no}")
    assert client.get("/api/v1/me", headers=auth(again)).get_json()["status"] == "unbound"


def test_delete_me_anonymises_a_member_never_confirmed_on_the_roster(app, client, emu):
    union = make_union(app)
    member_id, token = bound_member(app, client, emu, union.group_a, phone="13912345678")
    with app.app_context():
        db.session.get(Member, member_id).status = MemberStatus.pending
        db.session.commit()
    assert client.delete("/api/v1/me", headers=auth(token)).status_code == 204
    member = get(app, Member, member_id)
    assert member.name == "已注销用户" and member.phone is None and member.employee_no.startswith("DELETED-")


def test_delete_me_of_an_account_with_a_join_request(app, client, emu):
    make_union(app)
    token = api_login(client, emu, "wx-applicant")
    response = client.post(
        "/api/v1/me/binding", json={"name": "新职工", "employee_no": "N0001"}, headers=auth(token)
    )
    assert response.get_json()["status"] == "pending"
    assert client.delete("/api/v1/me", headers=auth(token)).status_code == 204
    assert count(app, JoinRequest) == 0 and count(app, WechatAccount) == 0


def test_unrelated_member_is_untouched_by_a_deletion(app, client, emu):
    union = make_union(app)
    _, token = bound_member(app, client, emu, union.group_a)
    other_id, other_token = bound_member(app, client, emu, union.group_a)
    send_notice(app, other_id, key="theirs")
    keep = make_member(app, union.group_b)
    client.delete("/api/v1/me", headers=auth(token))
    assert client.get("/api/v1/me", headers=auth(other_token)).status_code == 200
    assert count(app, Notification) == 1 and get(app, Member, keep) is not None


def test_export_lists_my_uploads_and_deleting_me_removes_the_unused_ones(app, client, emu, upload_dir):
    from backend.uploads.models import Upload
    from tests.factories import api_upload, png_bytes, stored_files

    union = make_union(app)
    member_id, token = bound_member(app, client, emu, union.group_a)
    _, other = bound_member(app, client, emu, union.group_a)
    assert api_upload(client, token, png_bytes(), "病历.png").status_code == 201
    assert api_upload(client, other, png_bytes(), "别人的.png").status_code == 201

    exported = client.get("/api/v1/me/export", headers=auth(token)).get_json()
    assert [(u["filename"], u["attached"]) for u in exported["uploads"]] == [("病历.png", False)]

    assert client.delete("/api/v1/me", headers=auth(token)).status_code == 204
    assert count(app, Upload, Upload.member_id == member_id) == 0
    assert count(app, Upload) == 1 and len(stored_files(upload_dir)) == 1  # the other member's stays
