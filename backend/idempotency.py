"""Idempotency keys (API.md, Conventions): a retried write gets its first answer instead of acting twice.

A key belongs to one WeChat account and lives 24 hours. The first request with a key *claims* it, and
the claim, the work and the stored answer are written in ONE transaction: the door's `idempotent`
decorator owns that transaction (the view flushes, never commits) and stores the answer just before
the commit. So "the key is taken", "the work is done" and "the answer can be replayed" commit or roll
back together: a request that fails anywhere, or whose process dies, leaves the key free for an honest
retry. While a decorated view runs, a commit of the session raises `CommitInsideIdempotentView` (a
programming error a domain's first test shows), because an early commit would bring back the gap.

Two requests with one key at once: the second one's INSERT meets the first one's uncommitted row in the
unique index and waits for it (PostgreSQL; SQLite serialises writers anyway). If the first commits,
the second finds its answer; if it rolls back, the second goes ahead and acts.

A committed claim without an answer cannot be written any more; one left by an older version of this
code (which stored the answer in a second transaction) is 409 `idempotency_key_in_use` for a minute and
then 409 `idempotency_key_abandoned`: the first request may or may not have acted, so the app is told
to submit again under a new key rather than wait 24 hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.db import utcnow
from backend.errors import Conflict, DomainError
from backend.extensions import db

TTL = timedelta(hours=24)
# How long a claim without an answer counts as "still being processed" before it is called abandoned.
STALE_AFTER = timedelta(seconds=60)
KEY_MAX = 255
_VIEW_RUNNING = "idempotent_view_running"


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


class IdempotencyKeyAbandoned(Conflict):
    code = "idempotency_key_abandoned"
    message = "上一次提交没有完成，请重新提交"


class CommitInsideIdempotentView(RuntimeError):
    """An idempotent view committed on its own; the decorator must commit the work with its answer."""


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


def _answer(existing: IdempotencyKey, request_hash: str, now: datetime) -> StoredAnswer:
    if existing.request_hash != request_hash:
        raise IdempotencyKeyReused()
    if existing.response_status is None:
        if existing.created_at <= now - STALE_AFTER:
            raise IdempotencyKeyAbandoned()
        raise IdempotencyKeyInUse()
    return StoredAnswer(existing.response_status, existing.response_body or "", existing.response_type or "")


def claim(
    account_id: int, key: str, *, request_hash: str, endpoint: str, now: datetime | None = None
) -> IdempotencyKey | StoredAnswer:
    """Claims `key` for this request (returns the new row, flushed, not committed), or returns the
    first request's stored answer. Raises IdempotencyKeyReused (another body), IdempotencyKeyInUse or
    IdempotencyKeyAbandoned (a claim without an answer, younger or older than STALE_AFTER).
    """
    now = now or utcnow()
    existing = _find(account_id, key)
    if existing is not None and existing.created_at <= now - TTL:
        # An expired key starts afresh (a plain DELETE: a concurrent retry may have removed it already).
        db.session.execute(
            sa.delete(IdempotencyKey)
            .where(IdempotencyKey.id == existing.id)
            .execution_options(synchronize_session=False)
        )
        db.session.expunge(existing)
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
    return _answer(existing, request_hash, now)


def record_answer(
    claim_row: IdempotencyKey, *, status: int, body: str, content_type: str, now: datetime | None = None
) -> None:
    """Stores the answer to replay, in the claim's own transaction (it commits with the work)."""
    claim_row.response_status = status
    claim_row.response_body = body
    claim_row.response_type = content_type[:100]
    claim_row.completed_at = now or utcnow()
    db.session.flush()


@contextmanager
def view_running() -> Iterator[None]:
    """Marks the block as an idempotent view's body: committing the session inside it is refused.

    SAVEPOINTs (`begin_nested`) stay allowed; only the outermost transaction's commit is refused.
    """
    session = db.session()
    session.info[_VIEW_RUNNING] = True
    try:
        yield
    finally:
        session.info.pop(_VIEW_RUNNING, None)


@sa.event.listens_for(db.session, "before_commit")
def _refuse_commit_inside_view(session: Session) -> None:
    if session.info.get(_VIEW_RUNNING) and session.get_nested_transaction() is None:
        raise CommitInsideIdempotentView(
            "an @idempotent view must not commit (no unit_of_work inside it): "
            "the decorator commits the work together with the stored answer"
        )


def purge_expired_idempotency_keys(*, now: datetime | None = None) -> int:
    """Deletes keys older than 24 hours (`flask purge-expired`, inside unit_of_work). Returns the count."""
    result = db.session.execute(
        sa.delete(IdempotencyKey)
        .where(IdempotencyKey.created_at <= (now or utcnow()) - TTL)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
