"""Writing audit rows. The door says where a request came from; operations say what happened.

A repeat is written once: a row identical to one written less than a second before (same actor, action,
record, detail, IP address, browser and place in the union) is not written again, so a double click, a
form sent twice or a page reloaded at once leaves one row. The check reads the rows already written (and
those waiting in this session), so it is exact wherever writes take turns (SQLite's one writer at a time,
or one request after the other) and best effort between two transactions that run at the very same
moment on PostgreSQL: each may miss the other's uncommitted row, and both are kept. A lock to close that
gap would make every audited action wait on its twins, and the log would rather hold a duplicate than
lose a row. Writing once (rather than folding repeats when reading) keeps the pages, their counts and the
export simple and alike: every stored row is one fact.

Failed password attempts are always written, each one: a script guessing passwords repeats itself
exactly, and every attempt is evidence. So are the rows of the shell and of background jobs (origin
"cli"): nobody double-clicks there, and a command run twice was meant twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.db import utcnow
from backend.extensions import db
from backend.members.models import Member

if TYPE_CHECKING:
    from backend.staff.models import Staff


@dataclass(frozen=True)
class Origin:
    ip: str = ""
    user_agent: str = ""


REPEAT_WINDOW = timedelta(seconds=1)
ALWAYS_WRITTEN = frozenset({"staff.login_failed", "staff.password_change_failed"})
_RECENT = "audit_recent_rows"  # session.info key: (transaction, {actor and origin: recent rows})

_CLI = Origin(ip="cli")
_origin: ContextVar[Origin] = ContextVar("audit_origin", default=_CLI)


def set_origin(ip: str | None, user_agent: str | None) -> None:
    """Called by the doors at the start of each request."""
    _origin.set(Origin(ip=(ip or "")[:64], user_agent=(user_agent or "")[:200]))


@contextmanager
def origin(ip: str, user_agent: str = "") -> Iterator[None]:
    token = _origin.set(Origin(ip=ip, user_agent=user_agent))
    try:
        yield
    finally:
        _origin.reset(token)


def record(
    action: str,
    *,
    staff: Staff | None = None,
    member_id: int | None = None,
    target: Any = None,
    **detail: Any,
) -> AuditLog:
    """Append one audit row in the caller's transaction (it commits or rolls back with the change).

    The row carries where in the union it happened (`AuditLog.scope_path`, see `_scope_path`), taken now,
    so the row stays with the branch it was written in when its author moves later. A repeat of a row
    written less than a second ago is not written: that row is returned (the module's docstring).
    """
    where = _origin.get()
    now = utcnow()
    row = AuditLog(
        at=now,
        action=action,
        actor_staff_id=staff.id if staff is not None else None,
        actor_member_id=member_id,
        object_type=getattr(target, "__tablename__", "") if target is not None else "",
        object_id=getattr(target, "id", None),
        detail=detail,
        ip=where.ip,
        user_agent=where.user_agent,
        scope_path=_scope_path(staff, member_id),
    )
    if _folds_repeats(row):
        twin = _recent_twin(row, now)
        if twin is not None:
            return twin
        _recent_rows(row, now - REPEAT_WINDOW).append(row)
    db.session.add(row)
    return row


def _folds_repeats(row: AuditLog) -> bool:
    """Whether a repeat of this row within a second is written once: not for failed password attempts,
    and not from the shell or a background job (origin "cli"), which repeat an action only on purpose."""
    return row.action not in ALWAYS_WRITTEN and row.ip != _CLI.ip


# What makes two rows the same fact; the place (scope_path) too, as it decides who reads the row.
_IDENTITY = (
    "action",
    "actor_staff_id",
    "actor_member_id",
    "object_type",
    "object_id",
    "ip",
    "user_agent",
    "scope_path",
)


def _same(a: AuditLog, b: AuditLog) -> bool:
    if any(getattr(a, name) != getattr(b, name) for name in _IDENTITY):
        return False
    return bool(_as_stored(a.detail) == _as_stored(b.detail))


def _as_stored(detail: Any) -> Any:
    """The detail as the JSON column gives it back (tuples become lists, keys become text)."""
    try:
        return json.loads(json.dumps(detail))
    except (TypeError, ValueError):
        return detail


def _recent_twin(row: AuditLog, now: datetime) -> AuditLog | None:
    """A row identical to `row` written less than REPEAT_WINDOW ago, by this transaction or before it."""
    since = now - REPEAT_WINDOW
    for candidate in _recent_rows(row, since):
        state = sa.inspect(candidate)
        if (state.pending or state.persistent) and candidate.at >= since and _same(candidate, row):
            return candidate
    return None


def _recent_rows(row: AuditLog, since: datetime) -> list[AuditLog]:
    """The rows the same actor wrote from the same place in the last second, read once per transaction
    (a 500-row import asks the database once, not 500 times), with those this transaction writes added
    by `record`. A row of a savepoint that rolled back leaves the session, and `_recent_twin` skips it."""
    session = db.session()
    session.connection()  # begins the transaction now (it would with the row's flush), so it has an identity
    transaction = session.get_transaction()
    cached = session.info.get(_RECENT)
    if cached is None or cached[0] is not transaction:
        cached = (transaction, {})
        session.info[_RECENT] = cached
    key = (row.actor_staff_id, row.actor_member_id, row.ip, row.user_agent)
    rows: list[AuditLog] | None = cached[1].get(key)
    if rows is None:
        with session.no_autoflush:
            rows = list(
                session.scalars(
                    sa.select(AuditLog)
                    .where(
                        AuditLog.at >= since,
                        _equals(AuditLog.actor_staff_id, row.actor_staff_id),
                        _equals(AuditLog.actor_member_id, row.actor_member_id),
                        AuditLog.ip == row.ip,
                    )
                    .order_by(AuditLog.id.desc())
                    .limit(100)
                )
            )
        cached[1][key] = rows
    return rows


def _equals(column: sa.ColumnElement[Any], value: int | None) -> sa.ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def _scope_path(staff: Staff | None, member_id: int | None) -> str | None:
    """The group path the row belongs to: the actor's place in the union at this moment.

    A staff author: their scope, as the loaded account holds it, which is the scope every check of this
    request was made against (an admin narrowing their own scope is recorded under the scope they did it
    with). A worker: their group as the session holds it now. Neither: None, read only by whoever holds
    the whole union.

    The record the action touched (a member, a group) is deliberately not the anchor: every operation
    checks that its target lies inside the author's scope, so the target's group only ever narrows a row
    of someone whose scope is wider, and narrowing it would show a branch what the people above it did
    (their IP address, their browser). The log answers "what did the people I answer for do".
    """
    with db.session.no_autoflush:
        if staff is not None:
            return staff.scope.path
        if member_id is not None:
            member = db.session.get(Member, member_id)
            return member.group.path if member is not None else None
    return None
