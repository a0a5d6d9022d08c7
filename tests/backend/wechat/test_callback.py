"""GET/POST /wechat/callback: signatures as WeChat computes them (sha1 of the sorted strings), events."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import redis
import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.members.models import WechatAccount
from backend.notifications.models import HandledPush, SubscriptionCredit, SubscriptionGrant
from backend.notifications.subscribe_events import POPUP_MAX_ITEMS
from backend.wechat.gateway import encrypt_message
from backend.wechat.models import PushNonce
from backend.wechat.replay import NONCE_TTL
from tests.backend.wechat.pushes import (
    AES_KEY,
    TOKEN,
    event,
    popup,
    push,
    safe_mode_push,
    signed,
)
from tests.conftest import TEST_REDIS_URL, requires_redis
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


def test_pushes_with_the_same_create_time_from_two_workers_are_each_applied(app, client, emu, callback_on):
    # The digest covers the whole push: CreateTime (one-second resolution) alone would merge these.
    api_login(client, emu, "wx-one")
    api_login(client, emu, "wx-two")
    at = int(time.time())
    for openid in ("wx-one", "wx-two"):
        assert push(client, popup(openid, ANNOUNCEMENT_TEMPLATE, at=at)).get_data(as_text=True) == "success"
    assert (our_credit(app, openid="wx-one"), our_credit(app, openid="wx-two")) == (1, 1) and count(
        app, HandledPush
    ) == 2


# --- forged, stale and replayed pushes ------------------------------------------------------------------


@pytest.mark.parametrize("skew", [-310, 310, -86400])
def test_a_push_whose_timestamp_is_more_than_five_minutes_off_is_refused(app, client, emu, callback_on, skew):
    api_login(client, emu, "wx-stale")
    response = push(client, popup("wx-stale", ANNOUNCEMENT_TEMPLATE), **signed(at=time.time() + skew))
    assert response.status_code == 403 and response.get_json()["error"] == "stale_push"
    assert (
        our_credit(app, openid="wx-stale") == 0
        and count(app, HandledPush) == 0
        and count(app, PushNonce) == 0
    )
    verification = client.get("/wechat/callback", query_string=signed(at=time.time() + skew, echostr="x"))
    assert verification.status_code == 403 and verification.get_json()["error"] == "stale_push"


@pytest.mark.parametrize("skew", [-290, 290])
def test_a_push_within_five_minutes_of_our_clock_is_taken(app, client, emu, callback_on, skew):
    api_login(client, emu, "wx-skew")
    response = push(client, popup("wx-skew", ANNOUNCEMENT_TEMPLATE), **signed(at=time.time() + skew))
    assert response.status_code == 200 and our_credit(app, openid="wx-skew") == 1


def test_a_captured_url_cannot_carry_another_body(app, client, emu, callback_on):
    union = make_union(app)
    bound_member(app, client, emu, union.group_a, openid="wx-victim")
    params = signed()  # what an access log would have shown
    genuine = popup("wx-victim", ANNOUNCEMENT_TEMPLATE)
    assert push(client, genuine, **params).get_data(as_text=True) == "success"

    forged_credit = popup("wx-victim", ANNOUNCEMENT_TEMPLATE, at=genuine["CreateTime"] + 1)
    forged_deletion = event("wx-victim", "user_authorization_cancellation", None)
    forged_deletion["OpenID"] = "wx-victim"
    for forged in (forged_credit, forged_deletion):
        response = push(client, forged, **params)
        assert response.status_code == 403 and response.get_json()["error"] == "replayed_push"
    assert our_credit(app, openid="wx-victim") == 1 and count(app, WechatAccount) == 1
    assert count(app, HandledPush) == 1 and count(app, PushNonce) == 1

    # The genuine push again under its own URL (WeChat's retry of it) is answered, and not applied twice.
    again = push(client, genuine, **params)
    assert again.status_code == 200 and again.get_data(as_text=True) == "success"
    assert our_credit(app, openid="wx-victim") == 1


def test_while_redis_is_down_the_database_remembers_the_nonces(app, client, emu, callback_on, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    api_login(client, emu, "wx-noredis")
    params = signed()
    assert push(client, popup("wx-noredis", ANNOUNCEMENT_TEMPLATE), **params).status_code == 200
    forged = popup("wx-noredis", ANNOUNCEMENT_TEMPLATE, "reject")
    assert push(client, forged, **params).status_code == 403
    assert count(app, PushNonce) == 1 and our_credit(app, openid="wx-noredis") == 1


@requires_redis
def test_with_redis_the_nonces_are_kept_there_for_ten_minutes(app, client, emu, callback_on, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", TEST_REDIS_URL)
    api_login(client, emu, "wx-redis")
    params = signed()
    key = f"wechat:{app.config['WECHAT_APPID']}:push_nonce:{params['signature']}"
    store = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        genuine = popup("wx-redis", ANNOUNCEMENT_TEMPLATE)
        assert push(client, genuine, **params).get_data(as_text=True) == "success"
        forged = popup("wx-redis", ANNOUNCEMENT_TEMPLATE, at=genuine["CreateTime"] + 1)
        response = push(client, forged, **params)
        assert response.status_code == 403 and response.get_json()["error"] == "replayed_push"
        assert push(client, genuine, **params).get_data(as_text=True) == "success"
        assert our_credit(app, openid="wx-redis") == 1
        assert count(app, PushNonce) == 0  # not in the database
        assert NONCE_TTL - 5 <= store.ttl(key) <= NONCE_TTL == 600
    finally:
        store.delete(key)
        store.close()


def test_with_an_aes_key_only_encrypted_pushes_are_taken(app, client, emu, callback_on, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_AES_KEY", AES_KEY)
    api_login(client, emu, "wx-plain")
    message = popup("wx-plain", ANNOUNCEMENT_TEMPLATE)
    for params in (signed(), signed(encrypt_type="aes")):
        response = push(client, message, **params)
        assert response.status_code == 403 and response.get_json()["error"] == "encryption_required"
    assert our_credit(app, openid="wx-plain") == 0 and count(app, HandledPush) == 0
    assert safe_mode_push(app, client, message).get_data(as_text=True) == "success"
    assert our_credit(app, openid="wx-plain") == 1


def test_in_safe_mode_only_the_encrypted_content_counts(app, client, emu, callback_on, monkeypatch):
    # 兼容模式 sends the plaintext beside the ciphertext: only what msg_signature covers is believed.
    monkeypatch.setitem(app.config, "WECHAT_AES_KEY", AES_KEY)
    api_login(client, emu, "wx-inside")
    api_login(client, emu, "wx-beside")
    params = signed(encrypt_type="aes")
    body = encrypt_message(
        token=TOKEN,
        aes_key=AES_KEY,
        appid=app.config["WECHAT_APPID"],
        plaintext=json.dumps(popup("wx-inside", ANNOUNCEMENT_TEMPLATE)),
        timestamp=params["timestamp"],
        nonce=params["nonce"],
    )
    params["msg_signature"] = body["MsgSignature"]
    envelope = {**popup("wx-beside", ANNOUNCEMENT_TEMPLATE), "Encrypt": body["Encrypt"]}
    assert push(client, envelope, **params).get_data(as_text=True) == "success"
    assert (our_credit(app, openid="wx-inside"), our_credit(app, openid="wx-beside")) == (1, 0)


def test_a_safe_mode_push_sent_again_as_it_was_is_answered_and_applied_once(
    app, client, emu, callback_on, monkeypatch
):
    monkeypatch.setitem(app.config, "WECHAT_AES_KEY", AES_KEY)
    api_login(client, emu, "wx-safe-again")
    params = signed(encrypt_type="aes")
    message = popup("wx-safe-again", ANNOUNCEMENT_TEMPLATE)
    for _ in range(2):
        response = safe_mode_push(app, client, message, query=params)
        assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    assert our_credit(app, openid="wx-safe-again") == 1


def test_only_the_first_items_of_one_popup_push_count(app, client, emu, callback_on):
    api_login(client, emu, "wx-flood")
    accept = {"TemplateId": ANNOUNCEMENT_TEMPLATE, "SubscribeStatusString": "accept", "PopupScene": "0"}
    response = push(client, event("wx-flood", "subscribe_msg_popup_event", [accept] * 1000))
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    assert our_credit(app, openid="wx-flood") == POPUP_MAX_ITEMS == 10
