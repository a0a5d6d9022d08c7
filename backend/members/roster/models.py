"""A confirmed roster import, run as a background job: the file, how far it got, what it reported.

The row is what every web machine answers a progress poll from, and what a worker resumes from: `done`
rows were committed together with the counts and errors that describe them.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import utcnow
from backend.extensions import db
from backend.members.models import str_enum
from backend.staff.permissions import Role

if TYPE_CHECKING:
    from backend.staff.models import Staff


class ImportStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


IMPORT_STATUS_LABELS = {"queued": "排队等候", "running": "正在导入", "done": "导入完成", "failed": "导入中断"}
FINISHED = (ImportStatus.done, ImportStatus.failed)


class RosterImport(db.Model):
    __tablename__ = "roster_imports"
    __table_args__ = (
        sa.CheckConstraint(
            "(status IN ('done', 'failed')) = (finished_at IS NOT NULL)", name="finished_matches_status"
        ),
        sa.CheckConstraint("done >= 0 AND done <= total", name="done_within_total"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    status: Mapped[ImportStatus] = mapped_column(
        str_enum(ImportStatus, "roster_import_status"), default=ImportStatus.queued, index=True
    )
    # The uploaded file, until the import ends. In the database rather than UPLOAD_DIR: a worker machine
    # need not mount the web machines' shared volume. Deferred: a progress poll never loads it.
    data: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    total: Mapped[int] = mapped_column(default=0)  # data rows, once the file has been read
    done: Mapped[int] = mapped_column(default=0)  # rows applied and committed
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    # [{"row_number", "employee_no", "name", "reasons"}]: the rows not imported, and why. Deferred like
    # the file: the progress poll reads only the counts.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list, deferred=True)
    message: Mapped[str] = mapped_column(sa.String(500), default="")  # why a failed import stopped
    # Where the staff member confirmed from: the audit rows the job writes carry it.
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")
    # Which run holds the job, and until when (backend/members/roster/background.py).
    run_token: Mapped[str | None] = mapped_column(sa.String(32))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]

    staff: Mapped[Staff] = relationship(viewonly=True)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def status_label(self) -> str:
        return IMPORT_STATUS_LABELS[self.status.value]

    def visible_to(self, staff: Staff) -> bool:
        """Whoever started the import follows it; an admin may look at anyone's."""
        return self.staff_id == staff.id or staff.role == Role.admin
