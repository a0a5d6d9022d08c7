"""Where the WeChat access token lives between calls.

Every web and Celery worker must use one token: WeChat allows a limited number of token fetches a
day, and a forced refresh makes the previous token die within minutes. With Redis the token and a
short fetch lock are shared by all processes on all machines; without it (the embedded default) they
live in this process only.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Protocol

import redis

logger = logging.getLogger(__name__)

# Compare-and-delete, so a worker whose lock already expired cannot release another worker's lock.
_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class TokenStore(Protocol):
    """A token slot and a fetch lock for one appid."""

    def get(self) -> str | None:
        """The stored token, or None when there is none or it has expired."""

    def set(self, token: str, ttl: float) -> None:
        """Store a token for ttl seconds."""

    def acquire(self, ttl: float) -> str | None:
        """Take the fetch lock for at most ttl seconds; an owner id, or None when someone holds it."""

    def release(self, owner: str) -> None:
        """Give the lock back, if still ours."""


class MemoryTokenStore:
    """Token and lock in this process: right for one process, the embedded default."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock_owner: str | None = None
        self._lock_expires = 0.0

    def get(self) -> str | None:
        """The stored token, or None when there is none or it has expired."""
        with self._mutex:
            if self._token and time.monotonic() < self._token_expires:
                return self._token
            return None

    def set(self, token: str, ttl: float) -> None:
        """Store a token for ttl seconds."""
        with self._mutex:
            self._token = token
            self._token_expires = time.monotonic() + ttl

    def acquire(self, ttl: float) -> str | None:
        """Take the fetch lock for at most ttl seconds; an owner id, or None when someone holds it."""
        with self._mutex:
            now = time.monotonic()
            if self._lock_owner is not None and now < self._lock_expires:
                return None
            self._lock_owner = uuid.uuid4().hex
            self._lock_expires = now + ttl
            return self._lock_owner

    def release(self, owner: str) -> None:
        """Give the lock back, if still ours."""
        with self._mutex:
            if self._lock_owner == owner:
                self._lock_owner = None

    def clear(self) -> None:
        """Forget the token (tests)."""
        with self._mutex:
            self._token = None


class RedisTokenStore:
    """Token and fetch lock in Redis, keyed by appid, shared by every process.

    Redis trouble never stops a WeChat call: the store then behaves as empty and unlocked, and the
    caller fetches through stable_token, which hands back the same token while it is valid, so an
    unshared fetch costs a request but breaks no other worker.
    """

    def __init__(self, client: redis.Redis, appid: str, prefix: str = "wechat") -> None:
        self._redis = client
        self.key = f"{prefix}:{appid}:access_token"
        self.lock_key = f"{self.key}:lock"
        self._release = client.register_script(_RELEASE_SCRIPT)

    @classmethod
    def from_url(cls, url: str, appid: str, prefix: str = "wechat") -> RedisTokenStore:
        """A store on the Redis at url; short socket timeouts so a dead Redis cannot eat the deadline."""
        client = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        return cls(client, appid, prefix)

    def get(self) -> str | None:
        """The stored token, or None when there is none or it has expired."""
        try:
            value = self._redis.get(self.key)
        except redis.RedisError as exc:
            logger.warning("token store unavailable, reading nothing: %s", type(exc).__name__)
            return None
        return str(value) if value else None

    def set(self, token: str, ttl: float) -> None:
        """Store a token for ttl seconds."""
        try:
            self._redis.set(self.key, token, px=max(1, int(ttl * 1000)))
        except redis.RedisError as exc:
            logger.warning("token store unavailable, token not shared: %s", type(exc).__name__)

    def acquire(self, ttl: float) -> str | None:
        """Take the fetch lock for at most ttl seconds; an owner id, or None when someone holds it."""
        owner = uuid.uuid4().hex
        try:
            taken = self._redis.set(self.lock_key, owner, nx=True, px=max(1, int(ttl * 1000)))
        except redis.RedisError as exc:
            logger.warning("token store unavailable, fetching unlocked: %s", type(exc).__name__)
            return owner
        return owner if taken else None

    def release(self, owner: str) -> None:
        """Give the lock back, if still ours."""
        try:
            self._release(keys=[self.lock_key], args=[owner])
        except redis.RedisError as exc:
            logger.warning("token store unavailable, lock left to expire: %s", type(exc).__name__)

    def clear(self) -> None:
        """Forget the token and the lock (tests)."""
        self._redis.delete(self.key, self.lock_key)
