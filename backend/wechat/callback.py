"""WeChat's message push (消息推送) at ``/wechat/callback``: URL verification and event pushes.

- ``GET`` answers the console's URL verification: ``echostr`` back when ``signature`` is
  sha1(sorted(WECHAT_TOKEN, timestamp, nonce)) and the timestamp is fresh; 403 otherwise.
- ``POST`` takes JSON-mode pushes. What is checked, in order (403 on each, nothing applied):
  the ``signature`` (``invalid_signature``); the ``timestamp``, within 5 minutes of our clock either way
  (``stale_push``); with WECHAT_AES_KEY set, that the body is encrypted (safe mode: ``{"ToUserName",
  "Encrypt"}``, ``msg_signature`` signs the ciphertext and WECHAT_AES_KEY decrypts it), a plain body
  being refused (``encryption_required``); and that the signature was not seen before with other
  content (``replayed_push``; with the same content it is WeChat's retry, answered below). Stale and
  replayed pushes: backend/wechat/replay.py. Without
  WECHAT_AES_KEY only plain pushes are taken (an encrypted one is a 400).
  Handled events: ``subscribe_msg_popup_event`` (each ``accept`` is one credit, unless the
  mini-program already reported the same tap: backend/notifications/subscriptions.py; at most
  ``POPUP_MAX_ITEMS`` items of one popup count: backend/notifications/subscribe_events.py),
  ``subscribe_msg_change_event`` (``reject``: the member turned the template off, credits 0),
  ``subscribe_msg_sent_event`` (logged), ``user_authorization_cancellation`` /
  ``user_authorization_revoke`` (the same account deletion as ``DELETE /me``). ``List`` may be an
  object or an array. The answer is ``success``. This module only decodes and dispatches: the rules
  are backend/notifications/subscribe_events.py's and backend/members/privacy.py's.
- A push WeChat re-sends (it got no quick answer; the same content, FromUserName, CreateTime, Event
  and ``List`` alike) is answered ``success`` and not applied again: a digest of the whole decoded
  push is kept in the database (``handled_pushes``), so this holds across any number of web processes,
  and two pushes that differ in anything, even with the same CreateTime, are each applied.

The query string (signature, timestamp, nonce) must not reach the access log: gunicorn.conf.py and the
proxy configuration keep it out. Without WECHAT_TOKEN the callback does not exist (404). Signature
checks and decryption are the gateway's (the only module that imports wechatpy).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, current_app, request

from backend.db import unit_of_work
from backend.errors import DomainError, NotFound
from backend.members.privacy import delete_cancelled_account
from backend.notifications.subscribe_events import apply_subscription_changes, record_popup_accepts
from backend.notifications.subscriptions import first_delivery, push_digest
from backend.wechat.gateway import WechatSignatureError, decrypt_message, verify_signature
from backend.wechat.replay import claim_nonce, is_fresh

log = logging.getLogger(__name__)

blp = Blueprint("wechat_callback", __name__)

CANCELLATION_EVENTS = frozenset({"user_authorization_cancellation", "user_authorization_revoke"})


class InvalidSignature(DomainError):
    status = 403
    code = "invalid_signature"
    message = "签名校验失败"


class StalePush(DomainError):
    status = 403
    code = "stale_push"
    message = "推送时间戳超出允许范围"


class EncryptionRequired(DomainError):
    status = 403
    code = "encryption_required"
    message = "已配置消息加解密密钥，只接收安全模式的加密推送"


class ReplayedPush(DomainError):
    status = 403
    code = "replayed_push"
    message = "该推送签名已用于另一条推送"


class BadPush(DomainError):
    status = 400
    code = "bad_request"
    message = "推送内容无法解析"


def _token() -> str:
    token = current_app.config.get("WECHAT_TOKEN")
    if not token:
        raise NotFound("未启用微信消息推送")
    return str(token)


def _check(token: str) -> None:
    args = request.args
    signature, timestamp, nonce = args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", "")
    if not (signature and timestamp and nonce) or not verify_signature(token, signature, timestamp, nonce):
        raise InvalidSignature()
    if not is_fresh(timestamp):
        raise StalePush()


@blp.get("/wechat/callback")
def verify_url() -> Response:
    """URL verification: echo ``echostr`` when the signature is WeChat's."""
    _check(_token())
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@blp.post("/wechat/callback")
def receive_push() -> Response:
    token = _token()
    _check(token)
    message = _content(token, _parse(request.get_data()))
    with unit_of_work():
        # Its own transaction: the signature stays bound to this content even if handling fails below.
        if not claim_nonce(request.args["signature"], push_digest(message)):
            raise ReplayedPush()
    with unit_of_work():
        # The key and the push's effects commit together: a push whose handling failed left no key.
        if first_delivery(message):
            handle_event(message)
        else:
            log.info("wechat push %s repeated by WeChat; already handled", message.get("Event") or "-")
    return Response("success", mimetype="text/plain")


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        message = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nested absurdly deep
        raise BadPush() from None
    if not isinstance(message, dict):
        raise BadPush()
    return message


def _content(token: str, body: dict[str, Any]) -> dict[str, Any]:
    """The push itself: the decrypted ``Encrypt`` when WECHAT_AES_KEY is set (the only kind of body
    taken then: a plain one proves nothing beyond the query's signature), else the plain body."""
    aes_key = current_app.config.get("WECHAT_AES_KEY")
    if aes_key:
        if "Encrypt" not in body:
            raise EncryptionRequired()
        return _decrypt(token, str(aes_key), body)
    if request.args.get("encrypt_type") == "aes" or "Encrypt" in body:
        raise BadPush("未配置消息加解密密钥")
    return body


def _decrypt(token: str, aes_key: str, message: dict[str, Any]) -> dict[str, Any]:
    args = request.args
    try:
        plaintext = decrypt_message(
            token=token,
            aes_key=aes_key,
            appid=current_app.config["WECHAT_APPID"],
            message=message,
            msg_signature=args.get("msg_signature", ""),
            timestamp=args.get("timestamp", ""),
            nonce=args.get("nonce", ""),
        )
    except WechatSignatureError:
        raise InvalidSignature() from None
    return _parse(plaintext.encode("utf-8"))


def _items(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def _results(message: dict[str, Any]) -> list[tuple[str, str]]:
    """The push's ``List`` as (template id, ``SubscribeStatusString``) pairs, in order."""
    return [
        (str(item.get("TemplateId") or ""), str(item.get("SubscribeStatusString") or ""))
        for item in _items(message.get("List"))
    ]


# What each subscribe event means for the account's credits is decided in backend/notifications.
SUBSCRIBE_EVENTS = {
    "subscribe_msg_popup_event": record_popup_accepts,
    "subscribe_msg_change_event": apply_subscription_changes,
}


def handle_event(message: dict[str, Any]) -> None:
    """Hands one decoded push to the domain it concerns, in the caller's transaction. Unknown events
    are logged and ignored."""
    event = str(message.get("Event") or "")
    openid = str(message.get("FromUserName") or "")
    if event in CANCELLATION_EVENTS:
        deleted = delete_cancelled_account(str(message.get("OpenID") or openid))
        log.info("wechat %s: account %s", event, "deleted" if deleted else "unknown, nothing to delete")
        return
    if event == "subscribe_msg_sent_event":
        for item in _items(message.get("List")):
            log.info(
                "wechat sent event: template %s msgid %s errcode %s (%s)",
                item.get("TemplateId"),
                item.get("MsgID"),
                item.get("ErrorCode"),
                item.get("ErrorStatus"),
            )
        return
    apply = SUBSCRIBE_EVENTS.get(event)
    if apply is None:
        log.info("wechat push ignored: MsgType %s Event %s", message.get("MsgType"), event or "-")
        return
    if not apply(openid, _results(message)):
        log.info("wechat %s for an openid we do not know; ignored", event)
