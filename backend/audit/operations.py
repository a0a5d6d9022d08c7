"""Writing audit rows. The door says where a request came from; operations say what happened."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.members.models import Member

if TYPE_CHECKING:
    from backend.staff.models import Staff


@dataclass(frozen=True)
class Origin:
    ip: str = ""
    user_agent: str = ""


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
    so the row stays with the branch it was written in when its author moves later.
    """
    where = _origin.get()
    row = AuditLog(
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
    db.session.add(row)
    return row


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
