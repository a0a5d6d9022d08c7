"""The append-only audit log of staff actions and sensitive reads."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import utcnow
from backend.extensions import db

if TYPE_CHECKING:
    from backend.members.models import Member
    from backend.staff.models import Staff


class AuditLog(db.Model):
    __tablename__ = "audit_log"
    # varchar_pattern_ops: the prefix LIKE of every scoped read can use the index under any collation.
    __table_args__ = (
        sa.Index(
            "ix_audit_log_scope_path", "scope_path", postgresql_ops={"scope_path": "varchar_pattern_ops"}
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    actor_member_id: Mapped[int | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(32), default="")
    object_id: Mapped[int | None]
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")
    # Where in the union the action happened, as it stood when the row was written: the group path
    # ("/1/4/") of the staff author's scope, or of the acting worker's group; None for rows with neither
    # (the shell, unknown names). Who may read the row follows it (backend/audit/queries.py), so moving a
    # person later does not move their past with them.
    scope_path: Mapped[str | None] = mapped_column(sa.String(255))

    # For reading the log (the 审计日志 page); never written through.
    actor_staff: Mapped[Staff | None] = relationship(viewonly=True)
    actor_member: Mapped[Member | None] = relationship(
        primaryjoin="foreign(AuditLog.actor_member_id) == Member.id", viewonly=True
    )


class AuditLogIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditLog, "before_update")
@event.listens_for(AuditLog, "before_delete")
def _refuse_changes(mapper: Any, connection: Any, target: AuditLog) -> None:
    raise AuditLogIsAppendOnly("audit rows are never changed or deleted")
