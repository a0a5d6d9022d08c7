"""Delivering the ledger to WeChat: claim due rows, send each once, record what WeChat said.

How a row travels (every step its own short transaction, so no lock is held during a WeChat call):

1. **claim** a batch of due ``pending`` rows (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
   any number of workers share the queue without blocking; a plain select on SQLite, one process) and
   stamp them with ``claimed_until`` (a lease, also the fence for every later update). Rows whose
   member has no credit for the template are finished right there as ``no_credit``: WeChat is not asked.
2. **mark sending** a chunk of rows (``NOTIFICATIONS_SEND_CHUNK``, 20 by default) just before their
   calls, with one UPDATE: ``sending``, a fresh lease, ``attempts + 1``; and one credit reserved for each
   with one more (an atomic ``count - 1 WHERE count > 0``). This commit also records the previous
   chunk's outcomes (the accepted ones in one UPDATE), so a chunk of messages costs one commit.
3. **send** through the gateway (rate-limited, ``WECHAT_SEND_RATE`` per second across all workers).
4. **record** the answer: 0 → ``sent`` (the reserved credit stays spent); 43101 → ``no_credit``, our
   credit set to 0, never retried; 47003 / 40003 / 40037 and other refusals → ``failed``, credit given
   back; -1, 45011 and failures where WeChat certainly did not act → ``pending`` again with exponential
   backoff, until ``WECHAT_SEND_MAX_ATTEMPTS``, then ``failed``.

At most once. WeChat's send has no idempotency key, so a message whose outcome we do not know is
never sent again: a row found in ``sending`` after its lease expired (the worker died mid-chunk)
becomes ``failed`` with ``worker_lost_outcome_unknown``, and a call that may have reached WeChat without
an answer (read timeout, connection dropped after sending, HTTP 5xx) becomes ``failed`` with
``outcome_unknown``. The member may miss that push, never get it twice, and the inbox copy is there
either way. Failures where WeChat certainly did not act (connection refused, -1, 45011) are retried.
If the worker that lost its lease does come back with an answer, the answer wins.

The chunk is the price of speed, and it is paid only when a worker dies: the rows of its chunk that
were not yet sent are given up with the one being sent (at most ``NOTIFICATIONS_SEND_CHUNK`` pushes per
killed worker, their inbox copies untouched). ``NOTIFICATIONS_SEND_CHUNK=1`` gives up only the one in
flight, at the cost of a commit per message (``bench/fanout.py`` shows the difference).

Without Redis (the embedded default) Celery runs eagerly: the commit that wrote the rows runs a drain
in the same process, so the web request delivers inline, fine for a demo's size. Rows left ``pending``
(backoff, or a broker that was down at commit time) are picked up by the next drain or by the
periodic ``notifications.sweep`` task (celery beat, every ``NOTIFICATIONS_SWEEP_SECONDS``).
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from backend.db import utcnow
from backend.extensions import db
from backend.notifications.claims import (
    WORKER_LOST,
    DeliverySettings,
    DrainStats,
    Work,
    claim_batch,
    count_due,
    recover_expired,
)
from backend.notifications.models import DeliveryState, Notification, SubscriptionCredit
from backend.notifications.send_rate import RateLimiter, rate_limiter
from backend.wechat.gateway import WechatError, WechatUnavailable, gateway

log = logging.getLogger(__name__)

NO_CREDIT = 43101
RETRY_ERRCODES = frozenset({-1, 45011})
OUTCOME_UNKNOWN = "outcome_unknown"
# The hot path (a few statements per chunk) uses the tables directly: Core statements skip the ORM's bulk
# machinery, which costs more than the statement itself.
_N = Notification.__table__
_C = SubscriptionCredit.__table__
_DISPATCH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# How to queue one drain task, handed over by backend/jobs.py (which defines the task and imports this
# module, so this module must not import it back). Takes Celery's ``apply_async`` options as keywords.
_enqueue_drain: Callable[..., object] | None = None


@dataclass
class _Outcome:
    work: Work
    lease: datetime
    state: str  # "sent", "no_credit", "failed", "retry"
    code: str | None = None
    text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# --- entry points (Celery tasks call these) -------------------------------------------------------


def set_drain_enqueuer(enqueue: Callable[..., object]) -> None:
    """Called by backend/jobs.py once its drain task exists: ``enqueue(**apply_async_options)``."""
    global _enqueue_drain
    _enqueue_drain = enqueue


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

    A broker that is down never makes it raise: that must not fail the request that already committed.
    The rows stay ``pending`` and the sweeper enqueues them once the broker is back.
    """
    enqueue = _enqueue_drain
    if enqueue is None:  # a wiring mistake, not a broker outage: say so loudly
        raise RuntimeError("no drain task registered: backend.jobs was never imported")
    config = current_app.config
    celery = current_app.extensions["celery"]
    try:
        if celery.conf.task_always_eager:
            enqueue()
            return
        wanted = math.ceil(max(expected, 1) / max(1, int(config["NOTIFICATIONS_BATCH"])))
        for _ in range(max(1, min(wanted, int(config["NOTIFICATIONS_DRAIN_TASKS"])))):
            enqueue(queue=config.get("CELERY_QUEUE") or "celery", retry=True, retry_policy=_DISPATCH_RETRY)
    except Exception:  # the broker's errors are many and driver-specific; none may escape
        log.warning("could not enqueue notification delivery; the sweeper will retry", exc_info=True)
        if celery.conf.task_always_eager:
            db.session.rollback()


def _chunks(work: list[Work], size: int) -> Iterator[list[Work]]:
    """Runs of at most ``size`` items with no (account, template) twice, so one statement can reserve
    the chunk's credits. A member with two messages in a batch has the second in a later chunk."""
    rest = work
    while rest:
        chunk: list[Work] = []
        later: list[Work] = []
        seen: set[tuple[int, str]] = set()
        for item in rest:
            pair = (item.account_id, item.template_id)
            if len(chunk) < size and pair not in seen:
                chunk.append(item)
                seen.add(pair)
            else:
                later.append(item)
        yield chunk
        rest = later


def _deliver(work: list[Work], settings: DeliverySettings, limiter: RateLimiter, stats: DrainStats) -> None:
    outcomes: list[_Outcome] = []
    for chunk in _chunks(work, settings.send_chunk):
        lease, ready = _begin_chunk(chunk, outcomes, settings, stats)
        outcomes = []
        slots = limiter.reserve(len(ready))
        for index, item in enumerate(ready):
            slots.wait(index)
            outcomes.append(_send(item, lease, settings))
    if outcomes:
        _record_all(outcomes, settings, stats)
        db.session.commit()


def _begin_chunk(
    chunk: list[Work], previous: list[_Outcome], settings: DeliverySettings, stats: DrainStats
) -> tuple[datetime, list[Work]]:
    """Records the previous chunk's outcomes and marks this chunk ``sending``, in one commit.

    Each row gets a fresh lease and ``attempts + 1`` and has one credit reserved (an atomic
    ``count - 1 WHERE count > 0``). Returns the lease and the rows to send: not those taken over by
    another worker after our claim expired, nor those whose credit is gone (finished ``no_credit``).
    """
    _record_all(previous, settings, stats)
    now = utcnow()
    lease = now + settings.lease
    marked = set(
        db.session.scalars(
            sa.update(_N)
            .where(
                _N.c.id.in_([item.id for item in chunk]),
                _N.c.wechat_state == DeliveryState.pending,
                _N.c.claimed_until == chunk[0].claim,
            )
            .values(wechat_state=DeliveryState.sending, claimed_until=lease, attempts=_N.c.attempts + 1)
            .returning(_N.c.id)
        )
    )
    mine = [item for item in chunk if item.id in marked]
    reserved: set[tuple[int, str]] = set()
    for template_id in {item.template_id for item in mine}:
        accounts = [item.account_id for item in mine if item.template_id == template_id]
        reserved.update(
            db.session.execute(
                sa.update(_C)
                .where(_C.c.wechat_account_id.in_(accounts), _C.c.template_id == template_id, _C.c.count > 0)
                .values(count=_C.c.count - 1, updated_at=now)
                .returning(_C.c.wechat_account_id, _C.c.template_id)
            ).tuples()
        )
    ready = [item for item in mine if (item.account_id, item.template_id) in reserved]
    no_credit = [item.id for item in mine if (item.account_id, item.template_id) not in reserved]
    if no_credit:
        db.session.execute(
            sa.update(_N)
            .where(_N.c.id.in_(no_credit))
            .values(
                wechat_state=DeliveryState.no_credit, last_error_code="no_local_credit", claimed_until=None
            )
        )
        stats.no_credit += len(no_credit)
    db.session.commit()
    return lease, ready


def _send(item: Work, lease: datetime, settings: DeliverySettings) -> _Outcome:
    try:
        gateway.send_subscribe_message(
            item.openid,
            item.template_id,
            item.data,
            page=item.page,
            miniprogram_state=settings.miniprogram_state,
            lang=settings.lang,
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


def _ours(lease: datetime) -> sa.ColumnElement[bool]:
    """Still ours, or marked lost by the sweeper meanwhile: an answer that arrives late still tells
    the truth about the message."""
    return sa.or_(
        sa.and_(_N.c.wechat_state == DeliveryState.sending, _N.c.claimed_until == lease),
        sa.and_(_N.c.wechat_state == DeliveryState.failed, _N.c.last_error_code == WORKER_LOST),
    )


def _record_all(outcomes: list[_Outcome], settings: DeliverySettings, stats: DrainStats) -> None:
    """Writes what WeChat said: the accepted sends of a chunk in one statement, the rest one by one."""
    sent = [outcome for outcome in outcomes if outcome.state == "sent"]
    if sent:
        ids = [outcome.work.id for outcome in sent]
        result = db.session.execute(
            sa.update(_N)
            .where(_N.c.id.in_(ids), _ours(sent[0].lease))
            .values(
                wechat_state=DeliveryState.sent,
                sent_at=utcnow(),
                claimed_until=None,
                last_error_code=None,
                last_error=None,
            )
        )
        stats.sent += result.rowcount
        if result.rowcount < len(ids):
            log.warning("%d sent notification(s) were no longer ours", len(ids) - result.rowcount)
    for outcome in outcomes:
        if outcome.state != "sent":
            _record(outcome, settings, stats)


def _record(outcome: _Outcome, settings: DeliverySettings, stats: DrainStats) -> None:
    """Writes one outcome that is not a plain success (see ``_ours`` for whose rows may be written)."""
    item, now = outcome.work, utcnow()
    values: dict[str, Any] = {
        "claimed_until": None,
        "last_error_code": outcome.code,
        "last_error": outcome.text,
    }
    refund = outcome.state in ("failed", "retry") and outcome.extra.get("refund", True)
    state = outcome.state
    if state == "no_credit":
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
    result = db.session.execute(
        sa.update(_N).where(_N.c.id == item.id, _ours(outcome.lease)).values(**values)
    )
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
