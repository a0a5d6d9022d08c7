"""wechatpy's client, made safe: every URL under WECHAT_API_BASE, stable_token, timeouts, bounded retries.

This module and ``push`` are the only ones in the project that import wechatpy.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import requests
import urllib3.exceptions
from wechatpy.client import WeChatClient
from wechatpy.client.api.base import BaseWeChatAPI

from backend.wechat.gateway.errors import SYSTEM_BUSY, WechatError, WechatUnavailable
from backend.wechat.token_store import MemoryTokenStore, TokenStore

# The package's logger, as before the gateway became a package.
logger = logging.getLogger("backend.wechat.gateway")

PRODUCTION_API_BASE = "https://api.weixin.qq.com/"
DEFAULT_TIMEOUT = 3.0
DEFAULT_DEADLINE = 4.5
# Errcodes that mean "this access token is no good": invalid credential, invalid token, expired token.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
# Endpoints authenticated by appid/secret instead of an access token.
_TOKENLESS_PATHS = frozenset({"sns/jscode2session", "cgi-bin/stable_token", "cgi-bin/token"})
# Refresh a little before WeChat's expiry so that no call goes out with a token about to die.
_TOKEN_MARGIN = 300.0
_CONNECT_TIMEOUT = 1.0
_MAX_ATTEMPTS = 3
_BACKOFF = (0.1, 0.3)


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
