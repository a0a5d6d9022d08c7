"""Delivering the ledger to WeChat: claim due rows, send each once, record what WeChat said.

How a row travels (every step its own short transaction, so no lock is held during a WeChat call):

1. **claim** a batch of due ``pending`` rows (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
   any number of workers share the queue without blocking; a plain select on SQLite, one process) and
   stamp them with ``claimed_until`` (a lease, also the fence for every later update). Rows whose
   member has no credit for the template are finished right there as ``no_credit``: WeChat is not asked.
2. **mark sending**, one row at a time, just before its call: ``sending``, a fresh lease, ``attempts + 1``,
   and one credit reserved (an atomic ``count - 1 WHERE count > 0``). This commit is shared with the
   outcome of the previous row, so a message costs one commit.
3. **send** through the gateway (rate-limited, ``WECHAT_SEND_RATE`` per second across all workers).
4. **record** the answer: 0 → ``sent`` (the reserved credit stays spent); 43101 → ``no_credit``, our
   credit set to 0, never retried; 47003 / 40003 / 40037 and other refusals → ``failed``, credit given
   back; -1, 45011 and failures where WeChat certainly did not act → ``pending`` again with exponential
   backoff, until ``WECHAT_SEND_MAX_ATTEMPTS``, then ``failed``.

At most once. WeChat's send has no idempotency key, so a message whose outcome we do not know is
never sent again: a row found in ``sending`` after its lease expired (the worker died mid-call) becomes
``failed`` with ``worker_lost_outcome_unknown``, and a call that may have reached WeChat without an
answer (read timeout, connection dropped after sending, HTTP 5xx) becomes ``failed`` with
``outcome_unknown``. The member may miss that push, never get it twice, and the inbox copy is there
either way. Failures where WeChat certainly did not act (connection refused, -1, 45011) are retried.
If the worker that lost its lease does come back with an answer, the answer wins.

Without Redis (the embedded default) Celery runs eagerly: the commit that wrote the rows runs a drain
in the same process, so the web request delivers inline, fine for a demo's size. Rows left ``pending``
(backoff, or a broker that was down at commit time) are picked up by the next drain or by the
periodic ``notifications.sweep`` task (celery beat, every ``NOTIFICATIONS_SWEEP_SECONDS``).
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import redis
import sqlalchemy as sa
from flask import current_app

from backend.db import utcnow
from backend.extensions import db
from backend.members.models import WechatAccount
from backend.notifications.models import DeliveryState, Notification, SubscriptionCredit
from backend.wechat.gateway import WechatError, WechatUnavailable, fit_template_data, gateway

log = logging.getLogger(__name__)

NO_CREDIT = 43101
RETRY_ERRCODES = frozenset({-1, 45011})
WORKER_LOST = "worker_lost_outcome_unknown"
OUTCOME_UNKNOWN = "outcome_unknown"
# The hot path (one row per statement) uses the tables directly: Core statements skip the ORM's bulk
# machinery, which costs more than the statement itself.
_N = Notification.__table__
_C = SubscriptionCredit.__table__
_DISPATCH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


@dataclass(frozen=True)
class DeliverySettings:
    batch_size: int
    lease: timedelta
    max_attempts: int
    backoff: float
    backoff_max: float
    miniprogram_state: str
    lang: str
    templates: dict[str, dict[str, Any]]

    @classmethod
    def from_app(cls) -> DeliverySettings:
        config = current_app.config
        deadline = float(config.get("WECHAT_DEADLINE") or 4.5)
        # A lease shorter than one call could expire under a live call: keep it above the deadline.
        lease = max(float(config["WECHAT_SEND_LEASE"]), deadline + 1.0)
        return cls(
            batch_size=max(1, int(config["NOTIFICATIONS_BATCH"])),
            lease=timedelta(seconds=lease),
            max_attempts=max(1, int(config["WECHAT_SEND_MAX_ATTEMPTS"])),
            backoff=float(config["WECHAT_SEND_BACKOFF"]),
            backoff_max=float(config["WECHAT_SEND_BACKOFF_MAX"]),
            miniprogram_state=config["WECHAT_MINIPROGRAM_STATE"],
            lang=config["WECHAT_LANG"],
            templates=config["WECHAT_TEMPLATES"],
        )


@dataclass
class DrainStats:
    claimed: int = 0
    sent: int = 0
    no_credit: int = 0
    failed: int = 0
    retry: int = 0
    skipped: int = 0
    recovered: int = 0

    def add(self, state: str) -> None:
        setattr(self, state, getattr(self, state) + 1)


@dataclass
class _Work:
    id: int
    account_id: int
    openid: str
    template_id: str
    data: dict[str, str]
    page: str | None
    claim: datetime


@dataclass
class _Outcome:
    work: _Work
    lease: datetime
    state: str  # "sent", "no_credit", "failed", "retry"
    code: str | None = None
    text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# --- entry points (Celery tasks call these) -------------------------------------------------------


def drain(*, max_batches: int | None = None) -> DrainStats:
    """Claim and deliver batches until nothing is due (or ``max_batches`` were done)."""
    settings = DeliverySettings.from_app()
    stats = DrainStats(recovered=recover_expired())
    limiter = rate_limiter()
    batches = 0
    while max_batches is None or batches < max_batches:
        work = claim_batch(settings, stats)
        batches += 1
        if work is None:
            break
        _deliver(work, settings, limiter, stats)
    return stats


def sweep() -> dict[str, int]:
    """The periodic safety net: recover lost sends, and enqueue drains for rows that are due."""
    recovered = recover_expired()
    due = count_due()
    if due:
        enqueue_drains(due)
    return {"recovered": recovered, "due": due}


def enqueue_drains(expected: int) -> None:
    """After a commit that wrote ``expected`` pending rows: enough drain tasks to share them.

    Never raises: a broker that is down must not fail the request that already committed. The rows
    stay ``pending`` and the sweeper enqueues them once the broker is back.
    """
    from backend.jobs import drain_notifications

    config = current_app.config
    celery = current_app.extensions["celery"]
    try:
        if celery.conf.task_always_eager:
            drain_notifications.apply_async()
            return
        wanted = math.ceil(max(expected, 1) / max(1, int(config["NOTIFICATIONS_BATCH"])))
        for _ in range(max(1, min(wanted, int(config["NOTIFICATIONS_DRAIN_TASKS"])))):
            drain_notifications.apply_async(
                queue=config.get("CELERY_QUEUE") or "celery", retry=True, retry_policy=_DISPATCH_RETRY
            )
    except Exception:  # the broker's errors are many and driver-specific; none may escape
        log.warning("could not enqueue notification delivery; the sweeper will retry", exc_info=True)
        if celery.conf.task_always_eager:
            db.session.rollback()


# --- the steps --------------------------------------------------------------------------------------


def _due(now: datetime) -> list[Any]:
    return [
        Notification.wechat_state == DeliveryState.pending,
        sa.or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
        sa.or_(Notification.claimed_until.is_(None), Notification.claimed_until <= now),
    ]


def count_due() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(*_due(utcnow()))) or 0


def recover_expired() -> int:
    """Rows left ``sending`` past their lease: a worker died mid-call, so they may have been sent.

    They are not sent again (at most once, see the module docstring): ``failed``, outcome unknown.
    """
    now = utcnow()
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.wechat_state == DeliveryState.sending, Notification.claimed_until < now)
        .values(
            wechat_state=DeliveryState.failed,
            last_error_code=WORKER_LOST,
            last_error="发送进程中断，无法确认是否已送达，不再重发",
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount:
        log.warning(
            "%d notification(s) were being sent by a worker that died; marked failed", result.rowcount
        )
    return result.rowcount or 0


def claim_batch(settings: DeliverySettings, stats: DrainStats) -> list[_Work] | None:
    """Claims up to a batch of due rows for this worker; None when nothing is due."""
    now = utcnow()
    lease = now + settings.lease
    query = sa.select(Notification.id).where(*_due(now)).order_by(Notification.id).limit(settings.batch_size)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    if not ids:
        db.session.commit()
        return None
    # The conditional update is the claim on SQLite, where the select above locks nothing.
    db.session.execute(
        sa.update(Notification)
        .where(Notification.id.in_(ids), *_due(now))
        .values(claimed_until=lease)
        .execution_options(synchronize_session=False)
    )
    rows = db.session.execute(
        sa.select(
            Notification.id,
            Notification.kind,
            Notification.title,
            Notification.body,
            Notification.link,
            Notification.data,
            Notification.created_at,
            WechatAccount.id,
            WechatAccount.openid,
        )
        .outerjoin(WechatAccount, WechatAccount.member_id == Notification.member_id)
        .where(Notification.id.in_(ids), Notification.claimed_until == lease)
        .order_by(Notification.id)
    ).all()
    credits = _credits([row[7] for row in rows if row[7] is not None])
    work: list[_Work] = []
    finished: dict[tuple[str, str], list[int]] = {}
    for nid, kind, title, body, link, data, created_at, account_id, openid in rows:
        template = settings.templates.get(kind.value)
        if account_id is None or template is None:
            reason = "no_wechat_account" if account_id is None else "no_template"
            finished.setdefault((DeliveryState.skipped.value, reason), []).append(nid)
            continue
        template_id = template["template_id"]
        if credits.get((account_id, template_id), 0) <= 0:
            finished.setdefault((DeliveryState.no_credit.value, "no_local_credit"), []).append(nid)
            continue
        try:
            values = _template_values(title, body, data, created_at)
            fitted = fit_template_data(template["fields"], values)
        except ValueError as exc:
            finished.setdefault((DeliveryState.failed.value, "bad_template_data"), []).append(nid)
            log.error("notification %s: template data cannot be fitted: %s", nid, exc)
            continue
        page = _page(template.get("page"), link)
        work.append(_Work(nid, account_id, openid, template_id, fitted, page, lease))
    for (state, reason), finished_ids in finished.items():
        db.session.execute(
            sa.update(Notification)
            .where(Notification.id.in_(finished_ids), Notification.claimed_until == lease)
            .values(wechat_state=state, last_error_code=reason, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        for _ in finished_ids:
            stats.add(state)
    stats.claimed += len(rows)
    db.session.commit()
    return work


def _credits(account_ids: list[int]) -> dict[tuple[int, str], int]:
    if not account_ids:
        return {}
    rows = db.session.execute(
        sa.select(
            SubscriptionCredit.wechat_account_id, SubscriptionCredit.template_id, SubscriptionCredit.count
        ).where(SubscriptionCredit.wechat_account_id.in_(set(account_ids)))
    )
    return {(account_id, template_id): count for account_id, template_id, count in rows}


def _template_values(
    title: str, body: str, data: dict[str, Any] | None, created_at: datetime
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": title,
        "body": body,
        "note": body,
        "created_at": created_at,
        "published_at": created_at,
        "updated_at": created_at,
    }
    values.update(data or {})
    return values


def _page(template_page: str | None, link: str | None) -> str | None:
    """The template's page, with the query of the notification's link (``?id=5``)."""
    if not template_page:
        return None
    query = urlsplit(link).query if link else ""
    return f"{template_page}?{query}" if query else template_page


def _deliver(work: list[_Work], settings: DeliverySettings, limiter: RateLimiter, stats: DrainStats) -> None:
    previous: _Outcome | None = None
    for item in work:
        lease = _begin_send(item, previous, settings, stats)
        previous = None
        if lease is None:
            continue
        limiter.acquire()
        previous = _send(item, lease)
    if previous is not None:
        _record(previous, settings, stats)
        db.session.commit()


def _begin_send(
    item: _Work, previous: _Outcome | None, settings: DeliverySettings, stats: DrainStats
) -> datetime | None:
    """Records the previous outcome and marks this row ``sending`` with a credit reserved, in one commit.

    Returns the sending lease, or None when the row is no longer ours or has no credit left.
    """
    if previous is not None:
        _record(previous, settings, stats)
    now = utcnow()
    lease = now + settings.lease
    marked = db.session.execute(
        sa.update(_N)
        .where(
            _N.c.id == item.id,
            _N.c.wechat_state == DeliveryState.pending,
            _N.c.claimed_until == item.claim,
        )
        .values(wechat_state=DeliveryState.sending, claimed_until=lease, attempts=_N.c.attempts + 1)
    )
    if not marked.rowcount:
        db.session.commit()
        return None  # another worker took it over after our claim expired
    reserved = db.session.execute(
        sa.update(_C)
        .where(
            _C.c.wechat_account_id == item.account_id,
            _C.c.template_id == item.template_id,
            _C.c.count > 0,
        )
        .values(count=_C.c.count - 1, updated_at=now)
    )
    if not reserved.rowcount:
        db.session.execute(
            sa.update(_N)
            .where(_N.c.id == item.id)
            .values(
                wechat_state=DeliveryState.no_credit, last_error_code="no_local_credit", claimed_until=None
            )
        )
        stats.add("no_credit")
        db.session.commit()
        return None
    db.session.commit()
    return lease


def _send(item: _Work, lease: datetime) -> _Outcome:
    config = current_app.config
    try:
        gateway.send_subscribe_message(
            item.openid,
            item.template_id,
            item.data,
            page=item.page,
            miniprogram_state=config["WECHAT_MINIPROGRAM_STATE"],
            lang=config["WECHAT_LANG"],
        )
    except WechatUnavailable as exc:
        if exc.outcome_unknown:
            return _Outcome(item, lease, "failed", OUTCOME_UNKNOWN, _text(exc), {"refund": False})
        return _Outcome(item, lease, "retry", _code(exc), _text(exc))
    except WechatError as exc:
        if exc.errcode == NO_CREDIT:
            return _Outcome(item, lease, "no_credit", _code(exc), _text(exc))
        if exc.errcode in RETRY_ERRCODES:
            return _Outcome(item, lease, "retry", _code(exc), _text(exc))
        log.warning("notification %s refused by WeChat: %s", item.id, exc)
        return _Outcome(item, lease, "failed", _code(exc), _text(exc))
    return _Outcome(item, lease, "sent")


def _code(exc: WechatError) -> str:
    return str(exc.errcode) if exc.errcode is not None else "unavailable"


def _text(exc: WechatError) -> str:
    return (exc.errmsg or "")[:500]


def _record(outcome: _Outcome, settings: DeliverySettings, stats: DrainStats) -> None:
    """Writes what WeChat said. The row must still be ours, or marked lost by the sweeper meanwhile:
    an answer that arrives late still tells the truth about the message.
    """
    item, now = outcome.work, utcnow()
    ours = sa.or_(
        sa.and_(_N.c.wechat_state == DeliveryState.sending, _N.c.claimed_until == outcome.lease),
        sa.and_(_N.c.wechat_state == DeliveryState.failed, _N.c.last_error_code == WORKER_LOST),
    )
    values: dict[str, Any] = {
        "claimed_until": None,
        "last_error_code": outcome.code,
        "last_error": outcome.text,
    }
    refund = outcome.state in ("failed", "retry") and outcome.extra.get("refund", True)
    state = outcome.state
    if state == "sent":
        values.update(wechat_state=DeliveryState.sent, sent_at=now)
    elif state == "no_credit":
        values.update(wechat_state=DeliveryState.no_credit)
    elif state == "failed":
        values.update(wechat_state=DeliveryState.failed)
    else:
        attempts = db.session.scalar(sa.select(_N.c.attempts).where(_N.c.id == item.id)) or 0
        if attempts >= settings.max_attempts:
            state = "failed"
            values.update(wechat_state=DeliveryState.failed)
        else:
            delay = min(settings.backoff * 2 ** max(attempts - 1, 0), settings.backoff_max)
            delay *= random.uniform(0.8, 1.2)  # spread the retries of a fan-out
            values.update(wechat_state=DeliveryState.pending, next_attempt_at=now + timedelta(seconds=delay))
    result = db.session.execute(sa.update(_N).where(_N.c.id == item.id, ours).values(**values))
    if not result.rowcount:
        log.warning("notification %s: outcome %s arrived for a row no longer ours", item.id, state)
        return
    stats.add(state)
    credit = sa.update(_C).where(
        _C.c.wechat_account_id == item.account_id,
        _C.c.template_id == item.template_id,
    )
    if state == "no_credit":
        db.session.execute(credit.values(count=0, updated_at=now))
    elif refund:
        db.session.execute(
            credit.values(count=_C.c.count + 1, updated_at=now).execution_options(synchronize_session=False)
        )


# --- the send rate ------------------------------------------------------------------------------------


class RateLimiter:
    """GCRA: each send reserves the next free slot and sleeps until it (no busy waiting, fair)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._lock = threading.Lock()
        self._next = 0.0

    def acquire(self) -> None:
        if self.interval <= 0:
            return
        wait = self._reserve()
        if wait > 0:
            time.sleep(wait)

    def _reserve(self) -> float:
        with self._lock:
            now = time.monotonic()
            # A burst of up to one second's worth of sends is allowed after a quiet spell.
            slot = max(self._next, now - 1.0 + self.interval)
            self._next = slot + self.interval
            return slot - now


# KEYS[1]: the slot key; ARGV: interval and burst in microseconds. Returns microseconds to wait.
_GCRA_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(nxt, now - burst + interval)
local ttl = math.ceil((slot + interval - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', slot + interval), 'PX', ttl)
return math.floor(slot - now)
"""


class RedisRateLimiter(RateLimiter):
    """The same bucket in Redis, shared by every worker on every machine; local when Redis fails."""

    def __init__(self, rate: float, client: redis.Redis, key: str) -> None:
        super().__init__(rate)
        self._redis = client
        self._key = key
        self._script = client.register_script(_GCRA_SCRIPT)

    def _reserve(self) -> float:
        try:
            micros = int(self._script(keys=[self._key], args=[int(self.interval * 1e6), 1_000_000]))
        except redis.RedisError as exc:
            log.warning("send-rate bucket unavailable, limiting this process only: %s", type(exc).__name__)
            return super()._reserve()
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
