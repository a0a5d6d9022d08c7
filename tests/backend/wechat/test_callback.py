"""GET/POST /wechat/callback: signatures as WeChat computes them (sha1 of the sorted strings), events."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.members.models import WechatAccount
from backend.notifications.models import HandledPush, SubscriptionCredit, SubscriptionGrant
from backend.wechat.gateway import encrypt_message
from tests.backend.wechat.pushes import (
    AES_KEY,
    TOKEN,
    event,
    popup,
    push,
    safe_mode_push,
    signed,
)
from tests.factories import (
    ANNOUNCEMENT_TEMPLATE,
    api_login,
    auth,
    bound_member,
    count,
    make_union,
    our_credit,
)


@pytest.fixture
def callback_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_TOKEN", TOKEN)


def test_url_verification_echoes(client, callback_on):
    response = client.get("/wechat/callback", query_string=signed(echostr="echo-42"))
    assert response.status_code == 200 and response.get_data(as_text=True) == "echo-42"


def test_bad_signature_is_403_json(client, callback_on):
    response = client.get("/wechat/callback", query_string=signed(token="wrong", echostr="x"))
    assert response.status_code == 403 and response.get_json()["error"] == "invalid_signature"
    assert client.get("/wechat/callback", query_string={"echostr": "x"}).status_code == 403
    posted = push(client, event("o1", "subscribe_msg_popup_event", []), **signed(token="wrong"))
    assert posted.status_code == 403 and posted.get_json()["error"] == "invalid_signature"


def test_callback_is_off_without_a_token(client):
    response = client.get("/wechat/callback", query_string=signed(echostr="x"))
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_malformed_push_is_400_json(client, callback_on):
    response = client.post("/wechat/callback", query_string=signed(), data=b"<xml>", content_type="text/xml")
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"


def test_popup_accepts_add_credits_object_or_array(app, client, emu, callback_on):
    api_login(client, emu, "wx-pop")
    activity = app.config["WECHAT_TEMPLATES"]["activity"]["template_id"]
    item = {"TemplateId": ANNOUNCEMENT_TEMPLATE, "SubscribeStatusString": "accept", "PopupScene": "0"}
    response = push(client, event("wx-pop", "subscribe_msg_popup_event", item))
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    items = [item, {"TemplateId": activity, "SubscribeStatusString": "reject", "PopupScene": "0"}]
    push(client, event("wx-pop", "subscribe_msg_popup_event", items))
    assert our_credit(app, openid="wx-pop") == 2


def test_change_reject_sets_credit_to_zero(app, client, emu, callback_on):
    api_login(client, emu, "wx-chg")
    accept = {"TemplateId": ANNOUNCEMENT_TEMPLATE, "SubscribeStatusString": "accept"}
    push(client, event("wx-chg", "subscribe_msg_popup_event", [accept, accept]))
    assert our_credit(app, openid="wx-chg") == 2
    reject = {"TemplateId": ANNOUNCEMENT_TEMPLATE, "SubscribeStatusString": "reject"}
    push(client, event("wx-chg", "subscribe_msg_change_event", reject))
    assert our_credit(app, openid="wx-chg") == 0


def test_sent_event_and_unknown_events_are_accepted(client, callback_on):
    sent = {"TemplateId": ANNOUNCEMENT_TEMPLATE, "MsgID": "1", "ErrorCode": "0", "ErrorStatus": "success"}
    assert push(client, event("wx-x", "subscribe_msg_sent_event", sent)).status_code == 200
    assert push(client, {"MsgType": "text", "Content": "你好"}).status_code == 200


def test_authorization_cancellation_deletes_the_account(app, client, emu, callback_on):
    union = make_union(app)
    member_id, token = bound_member(app, client, emu, union.group_a, openid="wx-bye")
    message = event("wx-bye", "user_authorization_cancellation", None)
    message["OpenID"] = "wx-bye"
    assert push(client, message).status_code == 200
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 401
    assert count(app, WechatAccount) == 0
    with app.app_context():
        audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "member.account_deleted"))
        assert audit.actor_member_id == member_id and audit.detail["reason"] == "wechat_cancellation"


def test_safe_mode_push_is_decrypted(app, client, emu, callback_on, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_AES_KEY", AES_KEY)
    api_login(client, emu, "wx-safe")
    plaintext = json.dumps(
        event(
            "wx-safe",
            "subscribe_msg_popup_event",
            {"TemplateId": ANNOUNCEMENT_TEMPLATE, "SubscribeStatusString": "accept"},
        )
    )
    params = signed(encrypt_type="aes")
    body = encrypt_message(
        token=TOKEN,
        aes_key=AES_KEY,
        appid=app.config["WECHAT_APPID"],
        plaintext=plaintext,
        timestamp=params["timestamp"],
        nonce=params["nonce"],
    )
    params["msg_signature"] = body["MsgSignature"]
    envelope = {"ToUserName": "gh_union", "Encrypt": body["Encrypt"]}
    assert push(client, envelope, **params).status_code == 200
    assert our_credit(app, openid="wx-safe") == 1

    params["msg_signature"] = "0" * 40
    tampered = push(client, envelope, **params)
    assert tampered.status_code == 403 and our_credit(app, openid="wx-safe") == 1


# --- pushes WeChat repeats --------------------------------------------------------------------------


def test_a_push_repeated_by_wechat_is_answered_and_applied_once(app, client, emu, callback_on):
    token = api_login(client, emu, "wx-rep")
    message = popup("wx-rep", ANNOUNCEMENT_TEMPLATE)
    for _ in range(4):  # the first delivery and WeChat's three retries
        response = push(client, message)
        assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    assert our_credit(app, openid="wx-rep") == 1
    assert count(app, SubscriptionGrant) == 1 and count(app, HandledPush) == 1  # the key is in the database
    # The repeats did not stand in for the client's report of the same tap: it still pairs.
    body = {"results": {ANNOUNCEMENT_TEMPLATE: "accept"}}
    response = client.post("/api/v1/me/subscriptions", json=body, headers=auth(token))
    assert response.get_json()["credits"]["announcement"] == 1


def test_a_repeated_safe_mode_push_is_applied_once_whatever_its_envelope(
    app, client, emu, callback_on, monkeypatch
):
    monkeypatch.setitem(app.config, "WECHAT_AES_KEY", AES_KEY)
    api_login(client, emu, "wx-safe-rep")
    message = popup("wx-safe-rep", ANNOUNCEMENT_TEMPLATE)
    assert safe_mode_push(app, client, message, "nonce-a").get_data(as_text=True) == "success"
    assert safe_mode_push(app, client, message, "nonce-b").get_data(as_text=True) == "success"
    assert our_credit(app, openid="wx-safe-rep") == 1


def test_pushes_that_differ_in_time_or_content_are_each_applied(app, client, emu, callback_on):
    api_login(client, emu, "wx-two")
    at = int(time.time())
    push(client, popup("wx-two", ANNOUNCEMENT_TEMPLATE, at=at))
    push(client, popup("wx-two", ANNOUNCEMENT_TEMPLATE, at=at + 30))  # a second tap
    push(client, popup("wx-two", ANNOUNCEMENT_TEMPLATE, "reject", at=at + 30))
    assert our_credit(app, openid="wx-two") == 2 and count(app, HandledPush) == 3


def test_a_repeated_cancellation_does_not_delete_the_account_made_since(app, client, emu, callback_on):
    union = make_union(app)
    bound_member(app, client, emu, union.group_a, openid="wx-again")
    message = event("wx-again", "user_authorization_cancellation", None)
    message["OpenID"] = "wx-again"
    assert push(client, message).get_data(as_text=True) == "success"
    assert count(app, WechatAccount) == 0
    # The worker comes back at once; WeChat, which got no quick answer, re-sends the cancellation.
    token = api_login(client, emu, "wx-again")
    response = push(client, message)
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 200
    assert count(app, AuditLog, AuditLog.action == "member.account_deleted") == 1


# --- pairing with the client's report -------------------------------------------------------------------


def test_a_push_long_after_the_client_report_is_another_tap(app, client, emu, callback_on):
    token = api_login(client, emu, "wx-late")
    body = {"results": {ANNOUNCEMENT_TEMPLATE: "accept"}}
    client.post("/api/v1/me/subscriptions", json=body, headers=auth(token))
    window = timedelta(seconds=app.config["SUBSCRIBE_PAIRING_WINDOW"])
    with app.app_context():
        grant = db.session.scalar(sa.select(SubscriptionGrant))
        grant.received_at -= window + timedelta(seconds=1)  # the report came 10 min 1 s before the push
        db.session.commit()
    push(client, popup("wx-late", ANNOUNCEMENT_TEMPLATE))
    assert our_credit(app, openid="wx-late") == 2


def test_a_push_for_an_unknown_openid_is_answered_and_changes_nothing(app, client, callback_on):
    response = push(client, popup("wx-nobody", ANNOUNCEMENT_TEMPLATE))
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    assert count(app, SubscriptionGrant) == 0 and count(app, SubscriptionCredit) == 0
