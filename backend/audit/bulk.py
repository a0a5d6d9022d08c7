"""Many audit rows of one action at once: the roster import's new members.

`record` (backend/audit/operations.py) adds one ORM object per row, which costs more than the member it
describes when a file adds 20,000 people. These rows are the same rows `record` writes (author, origin,
place in the union, time), only written together, by the database itself: one INSERT … SELECT over
the rows just written, so that no row travels back and forth at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.audit.operations import Origin, _origin, _scope_path
from backend.db import utcnow
from backend.extensions import db

if TYPE_CHECKING:
    from backend.staff.models import Staff


def current_origin() -> Origin:
    """Where the current request (or command) comes from, for a job that writes on its behalf later."""
    return _origin.get()


def json_object(**pairs: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A JSON object built by the database from columns (for `record_selected`'s detail), keys in order."""
    name = "json_build_object" if db.session.get_bind().dialect.name == "postgresql" else "json_object"
    arguments = [part for key, value in pairs.items() for part in (sa.literal(key), value)]
    return getattr(sa.func, name)(*arguments, type_=sa.JSON)


def record_selected(
    action: str,
    *,
    staff: Staff | None,
    object_type: str,
    object_id: sa.ColumnElement[int],
    detail: sa.ColumnElement[Any],
    where: Sequence[sa.ColumnElement[bool]],
) -> None:
    """One audit row per row that `where` selects (`object_id` and `detail`, see `json_object`, are
    expressions over it), written by one INSERT … SELECT in the caller's transaction."""
    table = AuditLog.__table__
    origin = _origin.get()
    constants = {
        "at": utcnow(),
        "action": action,
        "actor_staff_id": staff.id if staff is not None else None,
        "object_type": object_type,
        "ip": origin.ip,
        "user_agent": origin.user_agent,
        "scope_path": _scope_path(staff, None),
    }
    source = sa.select(
        *(sa.literal(value, table.c[name].type) for name, value in constants.items()), object_id, detail
    ).where(*where)
    db.session.execute(sa.insert(table).from_select([*constants, "object_id", "detail"], source))
