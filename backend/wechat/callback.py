"""WeChat's message push (消息推送) at ``/wechat/callback``: URL verification and event pushes.

- ``GET`` answers the console's URL verification: ``echostr`` back when ``signature`` is
  sha1(sorted(WECHAT_TOKEN, timestamp, nonce)); 403 otherwise.
- ``POST`` takes JSON-mode pushes, plain or safe mode (``encrypt_type=aes``: the body is
  ``{"ToUserName", "Encrypt"}`` and ``msg_signature`` signs the ciphertext; WECHAT_AES_KEY decrypts).
  Handled events: ``subscribe_msg_popup_event`` (each ``accept`` is one credit, unless the
  mini-program already reported the same tap: backend/notifications/subscriptions.py),
  ``subscribe_msg_change_event`` (``reject``: the member turned the template off, credits 0),
  ``subscribe_msg_sent_event`` (logged), ``user_authorization_cancellation`` /
  ``user_authorization_revoke`` (the same account deletion as ``DELETE /me``). ``List`` may be an
  object or an array. The answer is ``success``.
- A push WeChat re-sends (it got no quick answer; same FromUserName, CreateTime, Event and content) is
  answered ``success`` and not applied again: a digest of each push applied is kept in the database
  (``handled_pushes``), so this holds across any number of web processes.

Without WECHAT_TOKEN the callback does not exist (404). Signature checks and decryption are the
gateway's (the only module that imports wechatpy).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, current_app, request

from backend.db import unit_of_work
from backend.errors import DomainError, NotFound
from backend.members.privacy import account_by_openid, delete_account
from backend.notifications.models import GrantSource
from backend.notifications.operations import kind_of_template, set_credit
from backend.notifications.subscriptions import first_delivery, record_accepts
from backend.wechat.gateway import WechatSignatureError, decrypt_message, verify_signature

log = logging.getLogger(__name__)

blp = Blueprint("wechat_callback", __name__)

CANCELLATION_EVENTS = frozenset({"user_authorization_cancellation", "user_authorization_revoke"})


class InvalidSignature(DomainError):
    status = 403
    code = "invalid_signature"
    message = "签名校验失败"


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


@blp.get("/wechat/callback")
def verify_url() -> Response:
    """URL verification: echo ``echostr`` when the signature is WeChat's."""
    _check(_token())
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@blp.post("/wechat/callback")
def receive_push() -> Response:
    token = _token()
    _check(token)
    message = _parse(request.get_data())
    if request.args.get("encrypt_type") == "aes" or "Encrypt" in message:
        message = _decrypt(token, message)
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


def _decrypt(token: str, message: dict[str, Any]) -> dict[str, Any]:
    aes_key = current_app.config.get("WECHAT_AES_KEY")
    if not aes_key:
        raise BadPush("未配置消息加解密密钥")
    args = request.args
    try:
        plaintext = decrypt_message(
            token=token,
            aes_key=str(aes_key),
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


def handle_event(message: dict[str, Any]) -> None:
    """Applies one decoded push, in the caller's transaction. Unknown events are logged and ignored."""
    event = str(message.get("Event") or "")
    openid = str(message.get("FromUserName") or "")
    if event in CANCELLATION_EVENTS:
        openid = str(message.get("OpenID") or openid)
        account = account_by_openid(openid) if openid else None
        if account is not None:
            delete_account(account, reason="wechat_cancellation")
        log.info("wechat %s: account %s", event, "deleted" if account else "unknown, nothing to delete")
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
    if event not in ("subscribe_msg_popup_event", "subscribe_msg_change_event"):
        log.info("wechat push ignored: MsgType %s Event %s", message.get("MsgType"), event or "-")
        return
    account = account_by_openid(openid) if openid else None
    if account is None:
        log.info("wechat %s for an openid we do not know; ignored", event)
        return
    known = kind_of_template()
    accepted: list[str] = []
    for item in _items(message.get("List")):
        template_id, status = str(item.get("TemplateId") or ""), item.get("SubscribeStatusString")
        if template_id not in known:
            continue
        if event == "subscribe_msg_popup_event" and status == "accept":
            accepted.append(template_id)
        elif event == "subscribe_msg_change_event" and status == "reject":
            set_credit(account, template_id, 0)
    if accepted:
        record_accepts(account, accepted, source=GrantSource.push)
