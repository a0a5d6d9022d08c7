"""Pushes as WeChat sends them to /wechat/callback: signed query strings, JSON bodies, safe mode."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from backend.wechat.gateway import encrypt_message

TOKEN = "callback-token"
AES_KEY = base64.b64encode(b"k" * 32).decode().rstrip("=")


def signed(
    token: str = TOKEN, nonce: str | None = None, *, at: float | None = None, **extra: str
) -> dict[str, str]:
    """A callback query string as WeChat signs it: a fresh nonce each time (as WeChat draws one per
    push), the timestamp now unless ``at`` says when."""
    timestamp = str(int(time.time() if at is None else at))
    nonce = nonce or str(secrets.randbelow(10**10))
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce, **extra}


def push(client: FlaskClient, message: dict[str, Any], **params: str) -> TestResponse:
    return client.post(
        "/wechat/callback",
        query_string=params or signed(),
        data=json.dumps(message, ensure_ascii=False),
        content_type="application/json",
    )


def event(openid: str, name: str, items: Any, *, at: int | None = None) -> dict[str, Any]:
    return {
        "ToUserName": "gh_union",
        "FromUserName": openid,
        "CreateTime": int(time.time()) if at is None else at,
        "MsgType": "event",
        "Event": name,
        "List": items,
    }


def popup(openid: str, template_id: str, status: str = "accept", *, at: int | None = None) -> dict[str, Any]:
    """A ``subscribe_msg_popup_event``: the worker's choice in the subscribe popup, for one template."""
    item = {"TemplateId": template_id, "SubscribeStatusString": status, "PopupScene": "0"}
    return event(openid, "subscribe_msg_popup_event", item, at=at)


def safe_mode_push(
    app: Flask,
    client: FlaskClient,
    message: dict[str, Any],
    nonce: str | None = None,
    *,
    query: dict[str, str] | None = None,
) -> TestResponse:
    """The message encrypted (safe mode); each nonce gives a different envelope for the same content.
    ``query`` (a signed query string) is used instead of a fresh one when given."""
    params = dict(query or signed(nonce=nonce, encrypt_type="aes"))
    body = encrypt_message(
        token=TOKEN,
        aes_key=AES_KEY,
        appid=app.config["WECHAT_APPID"],
        plaintext=json.dumps(message),
        timestamp=params["timestamp"],
        nonce=params["nonce"],
    )
    params["msg_signature"] = body["MsgSignature"]
    return push(client, {"ToUserName": "gh_union", "Encrypt": body["Encrypt"]}, **params)
