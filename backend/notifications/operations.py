"""Writing to the ledger: notify one member or many, inbox read marks, and subscribe credits.

Everything here runs in the caller's transaction (flush, never commit). Rows that should reach
WeChat are dispatched only after that transaction commits (``after_commit``), so nothing is ever
pushed for a change that rolled back, and a row whose dispatch was lost (broker down at commit time)
is still in the ledger as ``pending`` for the sweeper to find.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from backend.db import after_commit, utcnow
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.members.models import Member, WechatAccount
from backend.notifications.delivery import enqueue_drains
from backend.notifications.models import (
    WITHDRAWN_BEFORE_SENDING,
    DeliveryState,
    GrantSource,
    Notification,
    NotificationKind,
    SubscriptionCredit,
)
from backend.notifications.queries import credits_for
from backend.notifications.subscriptions import record_accepts

log = logging.getLogger(__name__)

CHUNK = 1000
TITLE_MAX = 200
SUBSCRIBE_RESULTS = frozenset({"accept", "reject", "ban", "filter"})

__all__ = [
    "add_credits",
    "notification_ids_for",
    "notify",
    "notify_many",
    "record_subscriptions",
    "set_credit",
    "withdraw_messages",
]


# --- writing notifications ---------------------------------------------------------------------


def notify(
    recipient: Member | WechatAccount,
    *,
    kind: str,
    title: str,
    body: str,
    link: str | None,
    dedupe_key: str,
    data: dict[str, Any] | None = None,
    push: bool = True,
) -> Notification:
    """Puts a message in the recipient's inbox and queues its WeChat push for after the commit.

    The recipient is a roster member, or a WeChat account that is not one (a worker whose join request
    was rejected is told in the inbox of the account that asked).
    Idempotent per ``dedupe_key``: a second call with the same key returns the first row untouched.
    ``data`` holds the raw values for the kind's subscribe template (``WECHAT_TEMPLATES`` fields map
    template keys to value names; ``title``, ``body``/``note`` and the creation time are provided).
    """
    if isinstance(recipient, WechatAccount):
        to, has_account = {"wechat_account_id": recipient.id}, True
    else:
        to, has_account = {"member_id": recipient.id}, recipient.wechat_account is not None
    kind_value = _kind(kind)
    existing = db.session.scalar(sa.select(Notification).where(Notification.dedupe_key == dedupe_key))
    if existing is not None:
        return existing
    state, reason = _initial_state(kind_value, push=push, has_account=has_account)
    notification = Notification(
        **to,
        kind=NotificationKind(kind_value),
        title=_title(title),
        body=body or "",
        link=link,
        data=_jsonable(data) if data else None,
        dedupe_key=dedupe_key,
        created_at=utcnow(),
        wechat_state=state,
        attempts=0,
        last_error_code=reason,
    )
    try:
        with db.session.begin_nested():
            db.session.add(notification)
            db.session.flush()
    except IntegrityError:
        # Another transaction wrote the same key between our read and our insert.
        existing = db.session.scalar(sa.select(Notification).where(Notification.dedupe_key == dedupe_key))
        if existing is None:
            raise
        return existing
    if state == DeliveryState.pending:
        _dispatch_after_commit(1)
    return notification


def notify_many(
    member_ids: Sequence[int],
    *,
    kind: str,
    title: str,
    body: str,
    link: str | None,
    dedupe_prefix: str,
    data: dict[str, Any] | None = None,
    push: bool = True,
) -> int:
    """The same message to many members (fan-out), in bulk: one INSERT … ON CONFLICT DO NOTHING per
    chunk of 1,000. Dedupe key per row: ``f"{dedupe_prefix}:{member_id}"``, so re-running a fan-out
    (a retried job, a second click) creates only the rows still missing. Returns rows created.
    """
    kind_value = _kind(kind)
    unique_ids = list(dict.fromkeys(int(member_id) for member_id in member_ids))
    title = _title(title)
    payload = _jsonable(data) if data else None
    table = Notification.__table__
    created = queued = 0
    for start in range(0, len(unique_ids), CHUNK):
        chunk = unique_ids[start : start + CHUNK]
        with_account = set(
            db.session.scalars(sa.select(WechatAccount.member_id).where(WechatAccount.member_id.in_(chunk)))
        )
        now = utcnow()
        rows = []
        for member_id in chunk:
            state, reason = _initial_state(kind_value, push=push, has_account=member_id in with_account)
            rows.append(
                {
                    "member_id": member_id,
                    "kind": kind_value,
                    "title": title,
                    "body": body or "",
                    "link": link,
                    "data": payload,
                    "dedupe_key": f"{dedupe_prefix}:{member_id}",
                    "created_at": now,
                    "wechat_state": state.value,
                    "attempts": 0,
                    "last_error_code": reason,
                }
            )
        statement = _insert_ignore(table).values(rows).returning(table.c.id, table.c.wechat_state)
        inserted = db.session.execute(statement).all()
        created += len(inserted)
        queued += sum(1 for _, state in inserted if state == DeliveryState.pending.value)
    db.session.flush()
    if queued:
        _dispatch_after_commit(queued)
    return created


def notification_ids_for(dedupe_prefix: str) -> dict[int, int]:
    """member id → notification id for the rows a ``notify_many(dedupe_prefix=…)`` wrote."""
    rows = db.session.execute(
        sa.select(Notification.member_id, Notification.id).where(
            Notification.dedupe_key.startswith(f"{dedupe_prefix}:", autoescape=True)
        )
    )
    return {member_id: notification_id for member_id, notification_id in rows}


def withdraw_messages(dedupe_prefix: str, *, now: datetime | None = None) -> int:
    """Marks the rows a ``notify_many(dedupe_prefix=…)`` wrote (and any written under longer prefixes,
    such as reminders) withdrawn, and cancels their pushes that are still waiting. Returns how many
    members' inboxes changed.

    A push already being sent (``sending``) is WeChat's by now and is left to finish; a ``pending`` one
    (queued, or waiting to retry) becomes ``skipped`` with reason ``withdrawn``. The delivery worker
    moves only ``pending`` rows to ``sending``, so a cancelled row is never sent, even one a worker had
    already claimed.
    """
    now = now or utcnow()
    mine = Notification.dedupe_key.startswith(f"{dedupe_prefix}:", autoescape=True)
    members = db.session.execute(
        sa.update(Notification)
        .where(mine, Notification.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
        .returning(Notification.member_id)
        .execution_options(synchronize_session=False)
    ).scalars()
    inboxes = len(set(members))
    db.session.execute(
        sa.update(Notification)
        .where(mine, Notification.wechat_state == DeliveryState.pending)
        .values(
            wechat_state=DeliveryState.skipped,
            last_error_code=WITHDRAWN_BEFORE_SENDING,
            claimed_until=None,
            next_attempt_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    return inboxes


def _insert_ignore(table: sa.Table) -> Any:
    if db.engine.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])


def _kind(kind: str) -> str:
    try:
        return NotificationKind(kind).value
    except ValueError:
        raise ValueError(f"unknown notification kind {kind!r}") from None


def _title(title: str) -> str:
    title = " ".join((title or "").split())
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "…"


def _initial_state(kind: str, *, push: bool, has_account: bool) -> tuple[DeliveryState, str | None]:
    if not push:
        return DeliveryState.skipped, "push_off"
    if not has_account:
        return DeliveryState.skipped, "no_wechat_account"
    if kind not in current_app.config["WECHAT_TEMPLATES"]:
        return DeliveryState.skipped, "no_template"
    return DeliveryState.pending, None


def _jsonable(value: Any) -> Any:
    """Template values as JSON: times as ISO 8601 text (fit_template_data reads them back)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class _Dispatch:
    """The one after-commit callback of a transaction, however many notifications it wrote."""

    def __init__(self) -> None:
        self.expected = 0

    def __call__(self) -> None:
        enqueue_drains(self.expected)


def _dispatch_after_commit(count: int) -> None:
    session = db.session()
    pending = session.info.get("notifications_dispatch")
    # A rolled-back transaction dropped its callbacks; then ours is stale and a new one is needed.
    if not isinstance(pending, _Dispatch) or not any(
        cb is pending for cb in session.info.get("after_commit", [])
    ):
        pending = _Dispatch()
        session.info["notifications_dispatch"] = pending
        after_commit(session, pending)
    pending.expected += count


# --- subscribe credits -------------------------------------------------------------------------


def _templates() -> dict[str, dict[str, Any]]:
    return current_app.config["WECHAT_TEMPLATES"]


def kind_of_template() -> dict[str, str]:
    """template id → notification kind, from WECHAT_TEMPLATES."""
    return {spec["template_id"]: kind for kind, spec in _templates().items()}


def add_credits(account: WechatAccount, template_id: str, count: int = 1) -> None:
    """Adds credits atomically (an upsert, safe against a concurrent add for the same template)."""
    table = SubscriptionCredit.__table__
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(
        wechat_account_id=account.id, template_id=template_id, count=count, updated_at=utcnow()
    )
    statement = statement.on_conflict_do_update(
        index_elements=["wechat_account_id", "template_id"],
        set_={"count": table.c.count + statement.excluded.count, "updated_at": statement.excluded.updated_at},
    )
    db.session.execute(statement)


def set_credit(account: WechatAccount, template_id: str, count: int) -> None:
    """Sets the credits of a template (0 when WeChat says the member turned the template off)."""
    db.session.execute(
        sa.update(SubscriptionCredit)
        .where(
            SubscriptionCredit.wechat_account_id == account.id, SubscriptionCredit.template_id == template_id
        )
        .values(count=count, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def record_subscriptions(account: WechatAccount, results: Mapping[str, str]) -> dict[str, int]:
    """What ``wx.requestSubscribeMessage`` answered: one credit per ``accept``, unless WeChat's push
    already reported the same tap (backend/notifications/subscriptions.py); returns credits per kind.

    reject / ban / filter change nothing: a one-time subscription already granted stays valid.
    """
    known = kind_of_template()
    errors: dict[str, list[str]] = {}
    for template_id, result in results.items():
        if template_id not in known:
            errors[f"results.{template_id}"] = ["未知的订阅消息模板"]
        elif result not in SUBSCRIBE_RESULTS:
            errors[f"results.{template_id}"] = ["订阅结果应为 accept、reject、ban 或 filter"]
    if errors:
        raise ValidationFailed("订阅消息模板或结果有误，请重新进入小程序后再试", errors=errors)
    accepted = [template_id for template_id, result in results.items() if result == "accept"]
    record_accepts(account, accepted, source=GrantSource.client)
    return credits_for(account)
