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
