"""The first step of delivery: which rows are due, claiming a batch of them, and recovering the rows of
workers that died mid-send. ``delivery`` (whose docstring tells the whole path) sends what is claimed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from backend.db import utcnow
from backend.extensions import db
from backend.members.models import WechatAccount
from backend.notifications.models import DeliveryState, Notification, SubscriptionCredit
from backend.wechat.gateway import fit_template_data

log = logging.getLogger(__name__)

WORKER_LOST = "worker_lost_outcome_unknown"


@dataclass(frozen=True)
class DeliverySettings:
    batch_size: int
    lease: timedelta
    send_chunk: int
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
        # A lease shorter than one call would expire under every live call: keep it above the deadline.
        # A chunk of slow calls may outlast it; the sweeper then marks its rows lost too early, and the
        # answers, when they come, overwrite that (see ``delivery._ours``): nothing is sent twice.
        lease = max(float(config["WECHAT_SEND_LEASE"]), deadline + 1.0)
        return cls(
            batch_size=max(1, int(config["NOTIFICATIONS_BATCH"])),
            lease=timedelta(seconds=lease),
            send_chunk=max(1, int(config["NOTIFICATIONS_SEND_CHUNK"])),
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
class Work:
    id: int
    account_id: int
    openid: str
    template_id: str
    data: dict[str, str]
    page: str | None
    claim: datetime


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


def claim_batch(settings: DeliverySettings, stats: DrainStats) -> list[Work] | None:
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
        .outerjoin(
            WechatAccount,
            sa.or_(
                WechatAccount.member_id == Notification.member_id,
                WechatAccount.id == Notification.wechat_account_id,
            ),
        )
        .where(Notification.id.in_(ids), Notification.claimed_until == lease)
        .order_by(Notification.id)
    ).all()
    credits = _credits([row[7] for row in rows if row[7] is not None])
    work: list[Work] = []
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
        work.append(Work(nid, account_id, openid, template_id, fitted, page, lease))
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
