"""Reading the audit log (审计日志): what a staff member may see of it, filtered, newest first.

Scope: the log shows what people did, so a viewer sees the rows of the people they answer for, as they
stood when the row was written (`AuditLog.scope_path`, set by `record()`). Whoever holds the whole union
sees every row, including those without a place (workers' own actions are placed in their group, but the
operator's shell and failed logins under unknown names have none). A viewer with a branch in scope sees
the rows written by staff whose scope then lay inside theirs, and by workers then in their branch: an
officer moved into the branch later does not bring their earlier rows about other branches along, and
rows written in the branch stay there when their author moves away.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from backend.audit.models import AuditLog
from backend.db import SHANGHAI
from backend.errors import PermissionDenied
from backend.extensions import db
from backend.members.models import Group
from backend.staff.models import Staff
from backend.staff.permissions import Permission

PERMISSION = Permission.view_audit_log


@dataclass(frozen=True)
class AuditFilters:
    """What the viewer asked for; dates are calendar days in Asia/Shanghai, both ends included."""

    staff_id: int | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    def as_detail(self) -> dict[str, Any]:
        """The filters that were set, as an audit row's detail can hold them."""
        return {
            key: value.isoformat() if isinstance(value, date) else value
            for key, value in asdict(self).items()
            if value not in (None, "")
        }


def _require(viewer: Staff) -> None:
    if not viewer.can(PERMISSION):
        raise PermissionDenied("您没有查看审计日志的权限")


def _holds_whole_union(viewer: Staff) -> bool:
    return viewer.holds_whole_union


def _staff_in_scope(viewer: Staff) -> sa.Select[tuple[int]]:
    return (
        sa.select(Staff.id)
        .join(Group, Staff.scope_group_id == Group.id)
        .where(Group.path.startswith(viewer.scope.path))
    )


def visible_to(viewer: Staff) -> sa.ColumnElement[bool]:
    """A WHERE clause keeping the audit rows this viewer may read (see the module's docstring)."""
    if _holds_whole_union(viewer):
        return sa.true()
    return AuditLog.scope_path.startswith(viewer.scope.path)


def local_day_start(day: date) -> datetime:
    """Midnight at the start of `day` in Asia/Shanghai, as UTC (how AuditLog.at is compared)."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)


def audit_entries(viewer: Staff, filters: AuditFilters) -> sa.Select[tuple[AuditLog]]:
    """The rows this viewer may read that match the filters, newest first, with their authors loaded."""
    _require(viewer)
    query = (
        sa.select(AuditLog)
        .options(joinedload(AuditLog.actor_staff), joinedload(AuditLog.actor_member))
        .where(visible_to(viewer))
    )
    if filters.staff_id is not None:
        query = query.where(AuditLog.actor_staff_id == filters.staff_id)
    if filters.action:
        query = query.where(AuditLog.action == filters.action)
    if filters.object_type:
        query = query.where(AuditLog.object_type == filters.object_type)
    if filters.object_id is not None:
        query = query.where(AuditLog.object_id == filters.object_id)
    if filters.date_from is not None:
        query = query.where(AuditLog.at >= local_day_start(filters.date_from))
    if filters.date_to is not None:
        query = query.where(AuditLog.at < local_day_start(filters.date_to + timedelta(days=1)))
    return query.order_by(AuditLog.at.desc(), AuditLog.id.desc())


def count_entries(query: sa.Select[tuple[AuditLog]]) -> int:
    """How many rows `audit_entries` would give."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0


def staff_choices(viewer: Staff) -> list[Staff]:
    """The 操作人 filter's choices: staff now in the viewer's scope, and staff who wrote rows it may read
    (someone who has since moved away still answers for what they did here)."""
    _require(viewer)
    query = sa.select(Staff).order_by(Staff.display_name, Staff.username)
    if not _holds_whole_union(viewer):
        authors = sa.select(AuditLog.actor_staff_id).where(
            visible_to(viewer), AuditLog.actor_staff_id.is_not(None)
        )
        query = query.where(sa.or_(Staff.id.in_(_staff_in_scope(viewer)), Staff.id.in_(authors)))
    return list(db.session.scalars(query))
