"""Writing audit rows. The door says where a request came from; operations say what happened."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backend.audit.models import AuditLog
from backend.extensions import db

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
    """Append one audit row in the caller's transaction (it commits or rolls back with the change)."""
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
    )
    db.session.add(row)
    return row
