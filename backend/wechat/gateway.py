"""The one door to WeChat's servers: the only module in the project that imports wechatpy.

What it guarantees (DESIGN.md, "WeChat: what the gateway must get right"):

- every request goes to ``WECHAT_API_BASE`` (the emulator in development, ``https://api.weixin.qq.com/``
  in production), including the URLs that wechatpy hardcodes;
- one access token for all processes, from ``POST cgi-bin/stable_token``, kept in Redis when configured;
- a stale token (40001/40014/42001) costs one refresh and one retry, never more;
- every request has a timeout, transient failures are retried a bounded number of times, and a call
  gives up within ``WECHAT_DEADLINE`` seconds (4.5 by default) so the product can answer 503 in time;
- callers see plain data and two exceptions, ``WechatError`` and ``WechatUnavailable``.

Nothing secret is logged: not the app secret, the access token, login codes, nor ``session_key``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3.exceptions
from flask import Flask, current_app
from wechatpy.client import WeChatClient
from wechatpy.client.api.base import BaseWeChatAPI
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import WeChatSigner, check_signature

from backend.wechat.template_data import fit_template_data
from backend.wechat.token_store import MemoryTokenStore, RedisTokenStore, TokenStore

__all__ = [
    "PRODUCTION_API_BASE",
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

logger = logging.getLogger(__name__)

PRODUCTION_API_BASE = "https://api.weixin.qq.com/"
DEFAULT_TIMEOUT = 3.0
DEFAULT_DEADLINE = 4.5
# Errcodes that mean "this access token is no good": invalid credential, invalid token, expired token.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
SYSTEM_BUSY = -1
# Endpoints authenticated by appid/secret instead of an access token.
_TOKENLESS_PATHS = frozenset({"sns/jscode2session", "cgi-bin/stable_token", "cgi-bin/token"})
# Refresh a little before WeChat's expiry so that no call goes out with a token about to die.
_TOKEN_MARGIN = 300.0
_CONNECT_TIMEOUT = 1.0
_MAX_ATTEMPTS = 3
_BACKOFF = (0.1, 0.3)


class WechatError(Exception):
    """WeChat answered with a non-zero errcode (callers map codes to product errors)."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg

    def __str__(self) -> str:
        return f"WeChat error {self.errcode}: {self.errmsg}"


class WechatUnavailable(WechatError):
    """WeChat could not be reached or stayed busy (timeouts, dropped connections, 5xx, -1) past retries.

    ``outcome_unknown`` is True when the last attempt may have reached WeChat and been acted on (a read
    timeout, a connection dropped after sending, a 5xx): for a send, the message may have gone out.
    """

    def __init__(
        self,
        errcode: int | None = SYSTEM_BUSY,
        errmsg: str = "微信服务暂时不可用",
        *,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(errcode, errmsg)
        self.outcome_unknown = outcome_unknown


class WechatSignatureError(Exception):
    """A push whose signature does not match, or whose encrypted body cannot be decrypted."""


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


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.ends - time.monotonic()


# One deadline per gateway call, shared by the token fetch that the call may need, so the pair
# together still gives up in time.
_current_deadline: ContextVar[_Deadline | None] = ContextVar("wechat_deadline", default=None)


class _Transient(Exception):
    """A failure worth retrying; unsent means WeChat certainly did not act on the request."""

    def __init__(self, errcode: int | None, errmsg: str, *, unsent: bool) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg
        self.unsent = unsent


class RoutedWeChatClient(WeChatClient):
    """wechatpy's client with every URL under api_base, stable_token, timeouts and bounded retries."""

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        api_base: str = PRODUCTION_API_BASE,
        token_store: TokenStore | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        # auto_retry=False: wechatpy's own retry on token errors recurses without bound.
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)
        self.api_base = api_base.rstrip("/") + "/"
        self.token_store: TokenStore = token_store or MemoryTokenStore()
        self.read_timeout = timeout
        self.deadline_seconds = deadline
        self.API_BASE_URL = self._rebase(WeChatClient.API_BASE_URL)
        # wechatpy's API groups carry their own absolute bases (WeChatWxa: https://api.weixin.qq.com/);
        # instance attributes shadow the class constants for this client only.
        for _, group in vars(self).items():
            if isinstance(group, BaseWeChatAPI) and getattr(group, "API_BASE_URL", None):
                group.API_BASE_URL = self._rebase(group.API_BASE_URL)  # type: ignore[attr-defined]

    def _rebase(self, url: str) -> str:
        if url.startswith(PRODUCTION_API_BASE):
            return self.api_base + url[len(PRODUCTION_API_BASE) :]
        return url

    @contextlib.contextmanager
    def deadline(self) -> Iterator[_Deadline]:
        """The deadline of the current call, opened here if this is the outermost request."""
        existing = _current_deadline.get()
        if existing is not None:
            yield existing
            return
        opened = _Deadline(self.deadline_seconds)
        reset = _current_deadline.set(opened)
        try:
            yield opened
        finally:
            _current_deadline.reset(reset)

    # -- access token ---------------------------------------------------------------------------

    @property
    def access_token(self) -> str:  # type: ignore[override]
        """The shared access token, fetched through stable_token when there is none."""
        return self.get_access_token()

    def get_access_token(self, force_refresh: bool = False) -> str:
        """The stored token, or a new one; force_refresh replaces the stored token."""
        with self.deadline():
            stored = self.token_store.get()
            if stored and not force_refresh:
                return stored
            return self.refresh_access_token(stale=stored if force_refresh else None)

    def refresh_access_token(self, stale: str | None) -> str:
        """A token other than stale, fetched once for all workers.

        Whoever holds the lock fetches; the others wait briefly and read what it stored. WeChat is
        asked to force a new token only when the token it rejected is still the stored one: if another
        worker already replaced it, that newer token is used as it is.
        """
        with self.deadline() as deadline:
            while True:
                current = self.token_store.get()
                if current and current != stale:
                    return current
                owner = self.token_store.acquire(ttl=self.deadline_seconds + 1.0)
                if owner is not None:
                    try:
                        current = self.token_store.get()
                        if current and current != stale:
                            return current
                        force = stale is not None  # the stale token is still the stored one (or gone)
                        return self._fetch_stable_token(force_refresh=force)
                    finally:
                        self.token_store.release(owner)
                if deadline.remaining() <= 0.05:
                    raise WechatUnavailable(SYSTEM_BUSY, "等待微信 access_token 超时")
                time.sleep(min(0.05, deadline.remaining()))

    def _fetch_stable_token(self, *, force_refresh: bool) -> str:
        result = self._request(
            "post",
            "stable_token",
            data={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self.secret,
                "force_refresh": force_refresh,
            },
        )
        token = str(result["access_token"])
        expires_in = float(result.get("expires_in", 7200))
        self.token_store.set(token, max(expires_in - _TOKEN_MARGIN, expires_in / 2))
        self.expires_at = int(time.time() + expires_in)
        logger.info(
            "wechat access token fetched (force_refresh=%s, expires_in=%s)", force_refresh, expires_in
        )
        return token

    def fetch_access_token(self) -> dict[str, Any]:
        """wechatpy's hook, answered through stable_token instead of the per-process cgi-bin/token."""
        token = self.refresh_access_token(stale=None)
        return {"access_token": token, "expires_in": 7200}

    # -- requests -------------------------------------------------------------------------------

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        """One API call: JSON dict or raw bytes back, WechatError/WechatUnavailable on failure.

        ``idempotent=False`` (sends) retries only failures where WeChat certainly did not act:
        connection refused or connect timeout, and errcode -1. A read timeout or a dropped answer
        may hide a delivered message, so it is reported instead of repeated.
        """
        base = kwargs.pop("api_base_url", self.API_BASE_URL)
        url = (
            url_or_endpoint if url_or_endpoint.startswith(("http://", "https://")) else base + url_or_endpoint
        )
        url = self._rebase(url)
        if not url.startswith(self.api_base):
            raise ValueError(f"refusing a WeChat request outside {self.api_base}: {url.split('?')[0]}")
        path = url[len(self.api_base) :]
        params = dict(kwargs.pop("params", None) or {})
        needs_token = path not in _TOKENLESS_PATHS and "access_token" not in params
        body = kwargs.pop("data", None)
        headers: dict[str, str] = {}
        if isinstance(body, dict):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        idempotent = kwargs.pop("idempotent", True)
        files = kwargs.pop("files", None)
        result_processor = kwargs.pop("result_processor", None)

        with self.deadline() as deadline:
            attempt = 0
            refreshed = False
            while True:
                attempt += 1
                token = None
                if needs_token:
                    token = params["access_token"] = self.get_access_token()
                try:
                    result = self._attempt(method, url, path, params, body, files, headers, deadline)
                except _Transient as exc:
                    retry = exc.unsent or idempotent
                    pause = _BACKOFF[min(attempt - 1, len(_BACKOFF) - 1)]
                    if not retry or attempt >= _MAX_ATTEMPTS or deadline.remaining() <= pause + 0.2:
                        logger.warning("wechat %s gave up after %d attempt(s): %s", path, attempt, exc.errmsg)
                        raise WechatUnavailable(
                            exc.errcode, exc.errmsg, outcome_unknown=not exc.unsent
                        ) from None
                    logger.info("wechat %s attempt %d failed (%s), retrying", path, attempt, exc.errmsg)
                    time.sleep(pause)
                    continue
                if isinstance(result, dict) and int(result.get("errcode") or 0) != 0:
                    errcode, errmsg = int(result["errcode"]), str(result.get("errmsg", ""))
                    if errcode in TOKEN_ERRCODES and token is not None and not refreshed:
                        logger.info(
                            "wechat %s rejected the access token (%d), refreshing once", path, errcode
                        )
                        refreshed = True
                        attempt -= 1
                        self.refresh_access_token(stale=token)
                        continue
                    logger.info("wechat %s answered errcode %d", path, errcode)
                    raise WechatError(errcode, errmsg)
                return result_processor(result) if result_processor else result

    def _attempt(
        self,
        method: str,
        url: str,
        path: str,
        params: dict[str, Any],
        body: Any,
        files: Any,
        headers: dict[str, str],
        deadline: _Deadline,
    ) -> dict[str, Any] | bytes:
        remaining = deadline.remaining()
        if remaining <= 0.05:
            raise _Transient(SYSTEM_BUSY, "请求微信超时", unsent=True)
        timeout = (min(_CONNECT_TIMEOUT, remaining), min(self.read_timeout, remaining))
        started = time.monotonic()
        try:
            res = self._http.request(
                method, url, params=params, data=body, files=files, headers=headers, timeout=timeout
            )
        except requests.ConnectTimeout:
            raise _Transient(None, "连接微信超时", unsent=True) from None
        except requests.Timeout:
            raise _Transient(None, "等待微信应答超时", unsent=False) from None
        except requests.ConnectionError as exc:
            raise _Transient(None, "与微信的连接中断", unsent=_never_connected(exc)) from None
        except requests.RequestException as exc:
            raise WechatUnavailable(None, f"请求微信失败：{type(exc).__name__}") from None
        logger.debug(
            "wechat %s %s -> HTTP %s in %.0f ms", method.upper(), path, res.status_code,
            (time.monotonic() - started) * 1000,
        )  # fmt: skip
        if res.status_code >= 500:
            raise _Transient(None, f"微信服务错误 HTTP {res.status_code}", unsent=False)
        if res.status_code >= 400:
            raise WechatUnavailable(None, f"微信拒绝了请求 HTTP {res.status_code}")
        content_type = res.headers.get("Content-Type", "")
        if "json" not in content_type and "text" not in content_type and not res.content.startswith(b"{"):
            return res.content
        try:
            result = json.loads(res.content.decode("utf-8", "replace"), strict=False)
        except ValueError:
            raise _Transient(None, "微信应答无法解析", unsent=False) from None
        if not isinstance(result, dict):
            raise _Transient(None, "微信应答无法解析", unsent=False)
        if int(result.get("errcode", 0) or 0) == SYSTEM_BUSY:
            raise _Transient(SYSTEM_BUSY, str(result.get("errmsg", "system error")), unsent=True)
        return result


def _never_connected(exc: requests.ConnectionError) -> bool:
    """True when the connection was never established, so WeChat never saw the request."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


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


# --- message push (the callback): signatures and safe mode, thin wrappers over wechatpy -------------


def verify_signature(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """Whether a push's ``signature`` is sha1(sorted(token, timestamp, nonce)), as WeChat signs."""
    try:
        check_signature(token, signature, timestamp, nonce)
    except InvalidSignatureException:
        return False
    return True


def decrypt_message(
    *,
    token: str,
    aes_key: str,
    appid: str,
    message: dict[str, Any],
    msg_signature: str,
    timestamp: str,
    nonce: str,
) -> str:
    """The plaintext of a safe-mode push (``{"Encrypt": ...}``); WechatSignatureError if not genuine."""
    try:
        crypto = WeChatCrypto(token, aes_key, appid)
        return str(crypto.decrypt_message(message, msg_signature, timestamp, nonce))
    except (
        InvalidSignatureException,
        InvalidAppIdException,
        KeyError,
        TypeError,
        ValueError,
        AssertionError,
    ):
        raise WechatSignatureError("推送签名或密文无效") from None


def encrypt_message(
    *, token: str, aes_key: str, appid: str, plaintext: str, timestamp: str, nonce: str
) -> dict[str, str]:
    """A safe-mode JSON push body as WeChat builds it (for the emulator and tests)."""
    crypto = WeChatCrypto(token, aes_key, appid)
    encrypted = PrpCrypto(crypto.key).encrypt(plaintext, appid)
    encrypted = encrypted.decode() if isinstance(encrypted, bytes) else str(encrypted)
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce, encrypted)
    return {"Encrypt": encrypted, "MsgSignature": signer.signature, "TimeStamp": timestamp, "Nonce": nonce}
