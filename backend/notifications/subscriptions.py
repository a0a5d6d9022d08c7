"""Subscribe accepts: one credit per tap, however many times the tap is reported.

A worker's tap on ``wx.requestSubscribeMessage`` reaches us up to twice: the mini-program reports the
result (``POST /me/subscriptions``) and WeChat pushes ``subscribe_msg_popup_event`` to
``/wechat/callback``, in either order, usually seconds apart, and either one may be lost. Each report
of an ``accept`` is recorded as a grant with its source and the time we received it. A report that
finds an unpaired grant from the *other* source, for the same account and template, received within
``SUBSCRIBE_PAIRING_WINDOW`` seconds, pairs with it (the oldest such) and adds no credit; otherwise it
adds one credit. So n taps make n credits whatever the order of their 2n reports (unpaired grants
within the window are never of both sources at once), and a tap that only one side reported still
counts once.

Concurrency: a report first locks the account's credit row for the template (an upsert, which also
creates the row). A second report for the same account and template waits for the first to commit,
then sees its grant (PostgreSQL, READ COMMITTED: each statement sees what was committed before it
started). Templates are taken in sorted order, so two reports of several templates cannot deadlock.
SQLite serialises all writers anyway.

Repeated pushes: WeChat re-sends a push it got no quick answer to (same content, up to 3 times).
``first_delivery`` inserts a digest of the push into ``handled_pushes`` (its primary key) in the
transaction that applies the push: a repeat finds the key and is skipped, whichever web process gets
it (a repeat that arrives while the first is still being applied waits for it on the key). A push
whose handling rolled back left no key, so WeChat's retry is applied.

Purging: ``purge_subscription_records`` deletes grants and push keys past their retention period.
Everything here runs in the caller's transaction (flush, never commit).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from backend.db import utcnow
from backend.extensions import db
from backend.members.models import WechatAccount
from backend.notifications.models import GrantSource, HandledPush, SubscriptionCredit, SubscriptionGrant

# Grants and push keys are kept this long by default: enough to answer "I subscribed but got nothing"
# a few days later, short because a grant says when a worker tapped.
RETENTION = timedelta(days=7)
# Never purge younger than this, whatever the caller asks: an unpaired grant must stay findable for
# its partner (the pairing window), and a push key must outlive WeChat's retries (seconds).
MIN_RETENTION = timedelta(days=1)

_G = SubscriptionGrant.__table__
_C = SubscriptionCredit.__table__

__all__ = [
    "first_delivery",
    "pairing_window",
    "purge_subscription_records",
    "record_accept",
    "record_accepts",
]


def pairing_window() -> timedelta:
    """How far apart the client's report and WeChat's push of one tap may arrive (config, seconds)."""
    return timedelta(seconds=max(0.0, float(current_app.config["SUBSCRIBE_PAIRING_WINDOW"])))


def _insert(table: sa.Table) -> Any:
    return (postgresql if db.engine.dialect.name == "postgresql" else sqlite).insert(table)


def _lock_credit(account_id: int, template_id: str, now: datetime) -> None:
    """Creates the credit row if missing and row-locks it until the transaction ends.

    ON CONFLICT DO UPDATE locks the existing row (and waits for a concurrent insert of it to commit);
    setting ``count`` to itself changes nothing.
    """
    statement = _insert(_C).values(
        wechat_account_id=account_id, template_id=template_id, count=0, updated_at=now
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["wechat_account_id", "template_id"], set_={"count": _C.c.count}
        )
    )


def record_accept(
    account: WechatAccount, template_id: str, *, source: GrantSource, now: datetime | None = None
) -> bool:
    """Records one ``accept`` reported by ``source``; True when it added a credit, False when it paired
    with the other source's report of the same tap (see the module docstring).
    """
    now = now or utcnow()
    _lock_credit(account.id, template_id, now)
    window = pairing_window()
    partner = db.session.scalar(
        sa.select(_G.c.id)
        .where(
            _G.c.wechat_account_id == account.id,
            _G.c.template_id == template_id,
            _G.c.source != source.value,
            _G.c.paired_with_id.is_(None),
            _G.c.received_at >= now - window,
            _G.c.received_at <= now + window,
        )
        .order_by(_G.c.received_at, _G.c.id)
        .limit(1)
    )
    grant_id = db.session.execute(
        _G.insert()
        .values(
            wechat_account_id=account.id,
            template_id=template_id,
            source=source.value,
            received_at=now,
            paired_with_id=partner,
        )
        .returning(_G.c.id)
    ).scalar_one()
    if partner is not None:
        db.session.execute(sa.update(_G).where(_G.c.id == partner).values(paired_with_id=grant_id))
        return False
    db.session.execute(
        sa.update(_C)
        .where(_C.c.wechat_account_id == account.id, _C.c.template_id == template_id)
        .values(count=_C.c.count + 1, updated_at=now)
    )
    return True


def record_accepts(
    account: WechatAccount, template_ids: Iterable[str], *, source: GrantSource, now: datetime | None = None
) -> int:
    """``record_accept`` for each template, in sorted order (the lock order); returns credits added."""
    added = sum(record_accept(account, t, source=source, now=now) for t in sorted(template_ids))
    db.session.flush()
    return added


def push_digest(message: Mapping[str, Any]) -> str:
    """sha256 of the decoded push, keys sorted: a re-sent push (same FromUserName, CreateTime, Event
    and content) has the same digest, whatever the encryption envelope it came in.
    """
    canonical = json.dumps(message, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def first_delivery(message: Mapping[str, Any], *, now: datetime | None = None) -> bool:
    """Marks the push handled; False when it already was (a repeat: do not apply it again)."""
    table = HandledPush.__table__
    event = str(message.get("Event") or message.get("MsgType") or "")[:64]
    statement = (
        _insert(table)
        .values(digest=push_digest(message), event=event, received_at=now or utcnow())
        .on_conflict_do_nothing(index_elements=["digest"])
        .returning(table.c.digest)
    )
    return db.session.execute(statement).first() is not None


def purge_subscription_records(
    *, older_than: timedelta = RETENTION, now: datetime | None = None
) -> dict[str, int]:
    """Deletes grants and handled-push keys received more than ``older_than`` ago (at least a day, and
    at least the pairing window); returns how many of each. For ``flask purge-expired``.
    """
    keep = max(older_than, MIN_RETENTION, pairing_window())
    cutoff = (now or utcnow()) - keep
    grants = db.session.execute(sa.delete(_G).where(_G.c.received_at < cutoff))
    pushes = db.session.execute(
        sa.delete(HandledPush.__table__).where(HandledPush.__table__.c.received_at < cutoff)
    )
    return {"grants": grants.rowcount or 0, "pushes": pushes.rowcount or 0}
