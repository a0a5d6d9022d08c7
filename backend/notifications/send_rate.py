"""The send rate: ``WECHAT_SEND_RATE`` subscribe sends per second, shared by every worker.

A GCRA bucket: a caller reserves the next free slots (one per message) and sleeps until each of them,
so sends are spaced evenly, nobody busy-waits, and a burst of at most one second's worth is allowed
after a quiet spell. With Redis the bucket lives there (one Lua call per batch of slots, Redis's own
clock), shared by all workers on all machines; without Redis, or while Redis fails, it is this
process's own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis
from flask import current_app

log = logging.getLogger(__name__)


class Slots:
    """``count`` reserved send slots: the first at ``start`` (a monotonic time), then one per interval."""

    def __init__(
        self, start: float, interval: float, sleep: Callable[[float], None], clock: Callable[[], float]
    ):
        self.start = start
        self.interval = interval
        self._sleep = sleep
        self._clock = clock

    def at(self, index: int) -> float:
        return self.start + index * self.interval

    def wait(self, index: int) -> None:
        """Sleeps until slot ``index`` (0-based) is due."""
        delay = self.at(index) - self._clock()
        if delay > 0:
            self._sleep(delay)


class RateLimiter:
    """The bucket in this process."""

    BURST = 1.0  # seconds' worth of sends allowed at once after a quiet spell

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = float("-inf")

    def reserve(self, count: int = 1) -> Slots:
        """Reserves ``count`` consecutive slots; wait on each before its send."""
        if self.interval <= 0 or count <= 0:
            return Slots(self._clock(), 0.0, self._sleep, self._clock)
        delay = self._reserve(count)
        return Slots(self._clock() + delay, self.interval, self._sleep, self._clock)

    def acquire(self) -> None:
        """One send: sleeps until its slot."""
        self.reserve(1).wait(0)

    def _reserve(self, count: int) -> float:
        """Seconds from now until the first of ``count`` slots."""
        with self._lock:
            now = self._clock()
            slot = max(self._next, now - self.BURST + self.interval)
            self._next = slot + count * self.interval
            return slot - now


# KEYS[1]: the slot key; ARGV: interval, burst (microseconds), slots wanted. Returns microseconds
# from now until the first reserved slot.
_GCRA_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(nxt, now - burst + interval)
local after = slot + count * interval
local ttl = math.ceil((after - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', ttl)
return math.floor(slot - now)
"""


class RedisRateLimiter(RateLimiter):
    """The same bucket in Redis, shared by every worker on every machine; local when Redis fails."""

    def __init__(self, rate: float, client: redis.Redis, key: str, **kwargs: Callable[..., float]) -> None:
        super().__init__(rate, **kwargs)  # type: ignore[arg-type]
        self._redis = client
        self._key = key
        self._script = client.register_script(_GCRA_SCRIPT)

    def _reserve(self, count: int) -> float:
        try:
            micros = int(
                self._script(
                    keys=[self._key],
                    args=[int(self.interval * 1e6), int(self.BURST * 1e6), count],
                )
            )
        except redis.RedisError as exc:
            log.warning("send-rate bucket unavailable, limiting this process only: %s", type(exc).__name__)
            return super()._reserve(count)
        return micros / 1e6


_limiters: dict[tuple[str | None, str, float], RateLimiter] = {}
_limiters_lock = threading.Lock()


def rate_limiter() -> RateLimiter:
    """This process's limiter for the app's WECHAT_SEND_RATE (shared via Redis when configured)."""
    config = current_app.config
    rate = float(config.get("WECHAT_SEND_RATE") or 0)
    redis_url = config.get("REDIS_URL")
    key = (redis_url, config["WECHAT_APPID"], rate)
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            if redis_url and rate > 0:
                client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
                limiter = RedisRateLimiter(rate, client, f"wechat:{config['WECHAT_APPID']}:send_rate")
            else:
                limiter = RateLimiter(rate)
            _limiters[key] = limiter
        return limiter
