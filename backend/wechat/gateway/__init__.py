"""The one door to WeChat's servers: the only package in the project that imports wechatpy.

What it guarantees (DESIGN.md, "WeChat: what the gateway must get right"):

- every request goes to ``WECHAT_API_BASE`` (the emulator in development, ``https://api.weixin.qq.com/``
  in production), including the URLs that wechatpy hardcodes;
- one access token for all processes, from ``POST cgi-bin/stable_token``, kept in Redis when configured;
- a stale token (40001/40014/42001) costs one refresh and one retry, never more;
- every request has a timeout, transient failures are retried a bounded number of times, and a call
  gives up within ``WECHAT_DEADLINE`` seconds (4.5 by default) so the product can answer 503 in time;
- callers see plain data and two exceptions, ``WechatError`` and ``WechatUnavailable``.

Nothing secret is logged: not the app secret, the access token, login codes, nor ``session_key``.

The package: ``client`` (wechatpy's client subclass) and ``push`` (callback signatures) are the only
modules that import wechatpy; ``api`` is the ``WechatGateway`` that the product calls; ``errors`` what
callers catch. Import from here: ``from backend.wechat.gateway import gateway, WechatError``.
"""

from __future__ import annotations

from backend.wechat.gateway.api import SecCheckResult, WechatGateway, WxSession, gateway
from backend.wechat.gateway.client import (
    DEFAULT_DEADLINE,
    DEFAULT_TIMEOUT,
    PRODUCTION_API_BASE,
    TOKEN_ERRCODES,
    RoutedWeChatClient,
)
from backend.wechat.gateway.errors import SYSTEM_BUSY, WechatError, WechatSignatureError, WechatUnavailable
from backend.wechat.gateway.push import decrypt_message, encrypt_message, verify_signature
from backend.wechat.template_data import fit_template_data

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUT",
    "PRODUCTION_API_BASE",
    "SYSTEM_BUSY",
    "TOKEN_ERRCODES",
    "RoutedWeChatClient",
    "SecCheckResult",
    "WechatError",
    "WechatGateway",
    "WechatSignatureError",
    "WechatUnavailable",
    "WxSession",
    "decrypt_message",
    "encrypt_message",
    "fit_template_data",
    "gateway",
    "verify_signature",
]
