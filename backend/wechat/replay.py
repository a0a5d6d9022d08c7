"""Stale and replayed pushes: what keeps one captured callback URL from signing forged events.

WeChat's plain-mode ``signature`` is sha1(sorted(token, timestamp, nonce)): it covers neither the body
nor the moment. Without more, a URL seen once (an access log, a proxy, a browser history) would sign
any body for ever: an account deletion for any openid, a thousand subscribe credits. So the callback
(backend/wechat/callback.py) also requires:

- a ``timestamp`` within ``MAX_SKEW`` (5 minutes) of our clock, either way: a URL is good for minutes;
- a ``signature`` not seen before with other content. Each one is remembered for ``NONCE_TTL`` (twice
  the window, so it outlives every timestamp that could still pass) with a digest of the push it came
  with. The same signature with another body is a replay with a forged body: refused. The same
  signature with the same content is WeChat's own retry of that push (or a replay of it, which changes
  nothing): it goes on, and the push digest in ``handled_pushes`` answers it ``success`` without
  applying it twice (backend/notifications/subscriptions.py).

The signature stands for the nonce: WeChat draws a fresh nonce for every push, and keying by the
signature also catches a timestamp and nonce re-split to sign the same (sorted, concatenated) string.

Where the signatures live: Redis (``SET NX EX``, one atomic script) when REDIS_URL is set, shared by
every web process on every machine; the database (``wechat_push_nonces``) otherwise. While Redis fails
(logged) the database stands in, so a push is never lost to a Redis outage; the price is that a
signature Redis took just before it failed is not known to the database. The database claim is its own
transaction, committed before the push is handled: a push whose handling fails keeps its signature
bound to its content, and WeChat's retry (same content) still goes through. Old rows are deleted by
``purge_push_nonces`` (``flask purge-expired``).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import redis
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from backend.db import utcnow
from backend.extensions import db
from backend.wechat.models import PushNonce

log = logging.getLogger(__name__)

MAX_SKEW = 300  # seconds between a push's timestamp and our clock, either way
NONCE_TTL = 2 * MAX_SKEW  # a signature is remembered this long (seconds)

__all__ = ["MAX_SKEW", "NONCE_TTL", "claim_nonce", "is_fresh", "purge_push_nonces"]

# Set the digest if the key is new (1); otherwise whether the stored digest is this one (1 or 0).
_CLAIM_SCRIPT = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
    return 1
end
if redis.call('get', KEYS[1]) == ARGV[1] then
    return 1
end
return 0
"""

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def is_fresh(timestamp: str, *, now: float | None = None) -> bool:
    """Whether a push's ``timestamp`` (Unix seconds, as WeChat writes it) is within ``MAX_SKEW`` of now."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    return abs((time.time() if now is None else now) - int(timestamp)) <= MAX_SKEW


def claim_nonce(signature: str, digest: str, *, now: datetime | None = None) -> bool:
    """Remembers that ``signature`` came with the push whose digest is ``digest``.

    True when the signature is new, or came before with this same content (WeChat's retry); False when
    it came before with other content: a replay, to be refused. In the database store this writes in
    the caller's transaction (flush, never commit).
    """
    script = _redis_script()
    if script is not None:
        try:
            return bool(int(script(keys=[_redis_key(signature)], args=[digest, NONCE_TTL])))
        except redis.RedisError as exc:
            log.warning("push nonce store (Redis) unavailable, using the database: %s", type(exc).__name__)
    return _claim_in_database(signature, digest, now or utcnow())


def purge_push_nonces(*, now: datetime | None = None) -> int:
    """Deletes the database's signatures older than ``NONCE_TTL`` (every timestamp they could match is
    stale by then); returns how many. For ``flask purge-expired``."""
    cutoff = (now or utcnow()) - timedelta(seconds=NONCE_TTL)
    table = PushNonce.__table__
    return db.session.execute(sa.delete(table).where(table.c.received_at < cutoff)).rowcount or 0


def _claim_in_database(signature: str, digest: str, now: datetime) -> bool:
    # ON CONFLICT DO NOTHING waits for a concurrent insert of the same signature to commit (or roll
    # back), so the SELECT after it sees the row that won.
    table = PushNonce.__table__
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    inserted = db.session.execute(
        dialect.insert(table)
        .values(signature=signature, digest=digest, received_at=now)
        .on_conflict_do_nothing(index_elements=["signature"])
        .returning(table.c.signature)
    ).first()
    if inserted is not None:
        return True
    return db.session.scalar(sa.select(table.c.digest).where(table.c.signature == signature)) == digest


def _redis_key(signature: str) -> str:
    return f"wechat:{current_app.config['WECHAT_APPID']}:push_nonce:{signature}"


def _redis_script() -> Any:
    """The claim script on this process's client for REDIS_URL; None without Redis."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    with _clients_lock:
        script = _clients.get(url)
        if script is None:
            # Short timeouts: WeChat waits 5 seconds for an answer, and the database can stand in.
            client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
            script = _clients[url] = client.register_script(_CLAIM_SCRIPT)
        return script
