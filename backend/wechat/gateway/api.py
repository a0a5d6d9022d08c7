"""The WeChat API as plain Python calls (``WechatGateway``), and the module-level ``gateway``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from backend.wechat.gateway.client import (
    DEFAULT_DEADLINE,
    DEFAULT_TIMEOUT,
    PRODUCTION_API_BASE,
    RoutedWeChatClient,
)
from backend.wechat.gateway.errors import WechatUnavailable
from backend.wechat.token_store import MemoryTokenStore, RedisTokenStore, TokenStore


@dataclass(frozen=True)
class WxSession:
    """What jscode2session answers. session_key stays on the server and out of reprs and logs."""

    openid: str
    session_key: str = field(repr=False)
    unionid: str | None = None


@dataclass(frozen=True)
class SecCheckResult:
    """msg_sec_check's verdict: suggest is "pass", "review" or "risky"; label 100 means normal."""

    suggest: str
    label: int
    trace_id: str | None = None

    @property
    def passed(self) -> bool:
        """True when the text may be shown without a human looking at it."""
        return self.suggest == "pass"


class WechatGateway:
    """The WeChat API as plain Python calls, as a Flask extension or standalone.

    In the app: ``gateway.init_app(app)``, then ``gateway.code_to_session(code)`` inside an app
    context. Outside Flask (benchmarks, scripts): ``WechatGateway.from_settings(appid=..., ...)``.
    """

    def __init__(self, app: Flask | None = None, *, client: RoutedWeChatClient | None = None) -> None:
        self._client = client
        if app is not None:
            self.init_app(app)

    def close(self) -> None:
        """Close this gateway's HTTP connections (standalone gateways, tests)."""
        if self._client is not None:
            self._client._http.close()

    def init_app(self, app: Flask) -> None:
        """Build this app's client from its config and register it as ``app.extensions["wechat"]``."""
        bound = WechatGateway.from_settings(
            appid=app.config["WECHAT_APPID"],
            secret=app.config["WECHAT_SECRET"],
            api_base=app.config.get("WECHAT_API_BASE") or PRODUCTION_API_BASE,
            redis_url=app.config.get("REDIS_URL"),
            timeout=float(app.config.get("WECHAT_TIMEOUT") or DEFAULT_TIMEOUT),
            deadline=float(app.config.get("WECHAT_DEADLINE") or DEFAULT_DEADLINE),
        )
        app.extensions["wechat"] = bound

    @classmethod
    def from_settings(
        cls,
        *,
        appid: str,
        secret: str,
        api_base: str = PRODUCTION_API_BASE,
        redis_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        token_store: TokenStore | None = None,
    ) -> WechatGateway:
        """A gateway bound to its own client, usable without Flask (Celery, benchmarks, tests)."""
        if token_store is None:
            token_store = RedisTokenStore.from_url(redis_url, appid) if redis_url else MemoryTokenStore()
        client = RoutedWeChatClient(
            appid, secret, api_base=api_base, token_store=token_store, timeout=timeout, deadline=deadline
        )
        return cls(client=client)

    @property
    def client(self) -> RoutedWeChatClient:
        """The client of this gateway, or of the current Flask app for the unbound module instance."""
        if self._client is not None:
            return self._client
        bound = current_app.extensions.get("wechat")
        if not isinstance(bound, WechatGateway) or bound._client is None:
            raise RuntimeError("WechatGateway.init_app(app) has not been called for this app")
        return bound._client

    def access_token(self, force_refresh: bool = False) -> str:
        """The shared access token; force_refresh asks WeChat for a new one."""
        return self.client.get_access_token(force_refresh=force_refresh)

    def code_to_session(self, js_code: str) -> WxSession:
        """Exchange a wx.login() code for the member's openid (single-use code, valid ~5 minutes)."""
        result = self.client.wxa.code_to_session(js_code)
        return WxSession(
            openid=str(result["openid"]),
            session_key=str(result["session_key"]),
            unionid=result.get("unionid"),
        )

    def get_phone_number(self, code: str) -> str:
        """The phone number (without country code) behind a getPhoneNumber button code."""
        client = self.client
        result = client.post(
            "wxa/business/getuserphonenumber", data={"code": code}, api_base_url=client.api_base
        )
        return str(result["phone_info"]["purePhoneNumber"])

    def send_subscribe_message(
        self,
        openid: str,
        template_id: str,
        data: dict[str, str],
        page: str | None = None,
        miniprogram_state: str = "formal",
        lang: str = "zh_CN",
    ) -> None:
        """Send one subscribe message (spends one of the member's credits for that template).

        Not retried when WeChat may already have delivered it; 43101 means no credit, 47003 bad data.
        """
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
            "miniprogram_state": miniprogram_state,
            "lang": lang,
        }
        if page:
            body["page"] = page
        self.client.post("message/subscribe/send", data=body, idempotent=False)

    def msg_sec_check(self, openid: str, content: str, scene: int = 2) -> SecCheckResult:
        """Content security check (version 2) of text a member wrote; scene 2 is comments/posts."""
        client = self.client
        result = client.post(
            "wxa/msg_sec_check",
            data={"version": 2, "openid": openid, "scene": scene, "content": content},
            api_base_url=client.api_base,
        )
        verdict = result.get("result") or {}
        return SecCheckResult(
            suggest=str(verdict.get("suggest", "review")),
            label=int(verdict.get("label", 0)),
            trace_id=result.get("trace_id"),
        )

    def get_wxa_code_unlimited(
        self,
        scene: str,
        page: str,
        check_path: bool = False,
        env_version: str = "release",
        width: int = 430,
    ) -> bytes:
        """A mini-program code image (PNG bytes) that opens page with scene (≤ 32 visible characters)."""
        client = self.client
        result = client.post(
            "wxa/getwxacodeunlimit",
            data={
                "scene": scene,
                "page": page,
                "check_path": check_path,
                "env_version": env_version,
                "width": width,
            },
            api_base_url=client.api_base,
        )
        if not isinstance(result, bytes):
            raise WechatUnavailable(None, "微信未返回小程序码图片")
        return result


gateway = WechatGateway()
