"""The send-rate bucket: slots spaced by the interval, a bounded burst, one bucket for all workers."""

from __future__ import annotations

import uuid

import pytest
import redis

from backend.notifications.send_rate import RateLimiter, RedisRateLimiter
from tests.conftest import TEST_REDIS_URL, requires_redis


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_slots_are_one_interval_apart_after_a_burst_of_one_second():
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)
    burst = limiter.reserve(10)  # a quiet bucket allows one second's worth at once
    for index in range(10):
        burst.wait(index)
    assert clock.slept == []
    later = limiter.reserve(3)
    for index in range(3):
        later.wait(index)
    assert clock.slept == pytest.approx([0.1, 0.1, 0.1])


def test_one_send_at_a_time_is_paced_too():
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        limiter.acquire()
    assert clock.now - 1000.0 == pytest.approx(1.0)  # 2 in the burst, then one each half second


def test_rate_zero_means_unlimited():
    clock = FakeClock()
    limiter = RateLimiter(0, clock=clock, sleep=clock.sleep)
    slots = limiter.reserve(1000)
    slots.wait(999)
    assert clock.slept == []


@requires_redis
def test_workers_share_one_bucket_through_redis():
    client = redis.Redis.from_url(str(TEST_REDIS_URL))
    key = f"test:send_rate:{uuid.uuid4().hex}"
    first = RedisRateLimiter(1, client, key)
    second = RedisRateLimiter(1, client, key)  # another worker process, as far as Redis can tell
    try:
        a = first.reserve(5)
        b = second.reserve(5)
    finally:
        client.delete(key)
    # Five slots at one a second: the other worker's first slot comes after them, not beside them.
    assert b.start - a.start >= 4.9


def test_a_redis_outage_falls_back_to_this_process():
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    clock = FakeClock()
    limiter = RedisRateLimiter(10, client, "unused", clock=clock, sleep=clock.sleep)
    slots = limiter.reserve(20)
    for index in range(20):
        slots.wait(index)
    assert sum(clock.slept) == pytest.approx(1.0)
