"""Idempotency keys (API.md, Conventions): a retried write gets its first answer instead of acting twice.

A key belongs to one WeChat account and lives 24 hours. The first request with a key *claims* it: the
claim row is written in the same transaction as the work, so "the key is taken" and "the work is done"
commit (or roll back) together. A failed request therefore leaves the key free for an honest retry.

Two requests with one key at once: the second one's INSERT meets the first one's uncommitted row in the
unique index and waits for it (PostgreSQL; SQLite serialises writers anyway). If the first commits,
the second finds its claim; if it rolls back, the second goes ahead and acts. The answer is stored
just after the commit; a request that finds a claim without an answer yet is told 409
`idempotency_key_in_use` (the door waits a moment first, since that state lasts only an instant unless
the first request's process died between its commit and storing the answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import utcnow
from backend.errors import Conflict, DomainError
from backend.extensions import db

TTL = timedelta(hours=24)
KEY_MAX = 255


class IdempotencyKey(db.Model):
    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("wechat_account_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wechat_account_id: Mapped[int] = mapped_column(sa.ForeignKey("wechat_accounts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(KEY_MAX))
    # SHA-256 of what the request asked for (method, path, body): the same key must mean the same request.
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    endpoint: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    response_type: Mapped[str | None] = mapped_column(sa.String(100))
    completed_at: Mapped[datetime | None]


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    message = "这个请求编号已用于内容不同的请求，请换一个新的编号"


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    message = "相同的请求正在处理中，请稍后再试"


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: str
    content_type: str


def _find(account_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(
        sa.select(IdempotencyKey)
        .where(IdempotencyKey.wechat_account_id == account_id, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    )


def _answer(existing: IdempotencyKey, request_hash: str) -> StoredAnswer:
    if existing.request_hash != request_hash:
        raise IdempotencyKeyReused()
    if existing.response_status is None:
        raise IdempotencyKeyInUse()
    return StoredAnswer(existing.response_status, existing.response_body or "", existing.response_type or "")


def claim(
    account_id: int, key: str, *, request_hash: str, endpoint: str, now: datetime | None = None
) -> IdempotencyKey | StoredAnswer:
    """Claims `key` for this request (returns the new row, flushed, not committed), or returns the
    first request's stored answer. Raises IdempotencyKeyReused (another body) or IdempotencyKeyInUse.
    """
    now = now or utcnow()
    existing = _find(account_id, key)
    if existing is not None and existing.created_at <= now - TTL:
        db.session.delete(existing)  # an expired key starts afresh
        db.session.flush()
        existing = None
    if existing is None:
        row = IdempotencyKey(
            wechat_account_id=account_id,
            key=key,
            request_hash=request_hash,
            endpoint=endpoint[:200],
            created_at=now,
        )
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:
            existing = _find(account_id, key)  # the other request committed its claim first
            if existing is None:
                raise IdempotencyKeyInUse() from None
        else:
            return row
    return _answer(existing, request_hash)


def record_answer(
    claim_id: int, *, status: int, body: str, content_type: str, now: datetime | None = None
) -> bool:
    """Stores the answer to replay. False when the claim is gone (its transaction rolled back)."""
    result = db.session.execute(
        sa.update(IdempotencyKey)
        .where(IdempotencyKey.id == claim_id, IdempotencyKey.response_status.is_(None))
        .values(
            response_status=status,
            response_body=body,
            response_type=content_type[:100],
            completed_at=now or utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def release(claim_id: int) -> None:
    """Frees a key whose request ended in a server error, so that a retry acts."""
    db.session.execute(
        sa.delete(IdempotencyKey)
        .where(IdempotencyKey.id == claim_id)
        .execution_options(synchronize_session=False)
    )


def purge_expired_idempotency_keys(*, now: datetime | None = None) -> int:
    """Deletes keys older than 24 hours (`flask purge-expired`, inside unit_of_work). Returns the count."""
    result = db.session.execute(
        sa.delete(IdempotencyKey)
        .where(IdempotencyKey.created_at <= (now or utcnow()) - TTL)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
