"""The callback's timestamp window and nonce store (backend/wechat/replay.py), in both stores."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import redis

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.maintenance import purge_expired
from backend.wechat.models import PushNonce
from backend.wechat.replay import MAX_SKEW, NONCE_TTL, claim_nonce, is_fresh, purge_push_nonces
from tests.conftest import TEST_REDIS_URL, requires_redis
from tests.factories import count

SIGNATURE = "a" * 40
GENUINE, FORGED = "1" * 64, "2" * 64


def test_timestamps_within_five_minutes_either_way_are_fresh():
    assert MAX_SKEW == 300
    now = 1_700_000_000
    for timestamp, fresh in [
        (now, True),
        (now - 300, True),
        (now + 300, True),
        (now - 301, False),
        (now + 301, False),
        (0, False),
    ]:
        assert is_fresh(str(timestamp), now=now) is fresh, timestamp
    for malformed in [
        "",
        "abc",
        "1.7e9",
        "-1700000000",
        " 1700000000",
        "1_700_000_000",
        "١٧٠٠٠٠٠٠٠٠",
        "9" * 40,
    ]:
        assert is_fresh(malformed, now=now) is False, malformed


def _claims(app, signature: str = SIGNATURE) -> list[bool]:
    """A new signature, the same one with the same content (WeChat's retry), then with other content."""
    results = []
    with app.app_context():
        for digest in (GENUINE, GENUINE, FORGED):
            with unit_of_work():
                results.append(claim_nonce(signature, digest))
    return results


def test_the_database_store_refuses_a_signature_seen_with_other_content(app):
    assert _claims(app) == [True, True, False]
    assert count(app, PushNonce) == 1


def test_a_claim_rolled_back_leaves_the_signature_free(app):
    with app.app_context():
        with pytest.raises(RuntimeError), unit_of_work():
            assert claim_nonce(SIGNATURE, GENUINE) is True
            raise RuntimeError("the request failed before committing")
        with unit_of_work():
            assert claim_nonce(SIGNATURE, FORGED) is True
    assert count(app, PushNonce) == 1


@requires_redis
def test_the_redis_store_refuses_a_signature_seen_with_other_content(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", TEST_REDIS_URL)
    signature = uuid.uuid4().hex + "0" * 8  # fresh: keys outlive a test run by ten minutes
    key = f"wechat:{app.config['WECHAT_APPID']}:push_nonce:{signature}"
    store = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        assert _claims(app, signature) == [True, True, False]
        assert store.get(key) == GENUINE.encode() and 0 < store.ttl(key) <= NONCE_TTL
        assert count(app, PushNonce) == 0
    finally:
        store.delete(key)
        store.close()


def test_purge_deletes_signatures_older_than_the_window_they_guard(app):
    now = utcnow()
    with app.app_context():
        with unit_of_work():
            for n, age in enumerate((NONCE_TTL + 1, NONCE_TTL - 60)):
                claim_nonce(f"{n:0>40}", GENUINE, now=now - timedelta(seconds=age))
        with unit_of_work():
            assert purge_push_nonces(now=now) == 1
        assert db.session.get(PushNonce, f"{1:0>40}") is not None


def test_the_daily_purge_includes_the_push_signatures(app):
    with app.app_context():
        with unit_of_work():
            claim_nonce("0" * 40, GENUINE, now=utcnow() - timedelta(hours=1))
        assert purge_expired()["push_nonces"] == 1
    assert count(app, PushNonce) == 0
    assert "微信推送签名 0 条" in app.test_cli_runner().invoke(args=["purge-expired"]).output
