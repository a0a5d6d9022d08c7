"""Files members and staff upload (photos, scans, PDFs) before they are attached to a record."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import utcnow
from backend.extensions import db

if TYPE_CHECKING:
    from backend.members.models import Member

# Content type (as sniffed from the bytes, never from the name) → the extension a stored name gets.
ACCEPTED_TYPES: dict[str, str] = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
TYPE_LABELS = "JPG、PNG 图片或 PDF 文件"


class Upload(db.Model):
    """One uploaded file. Its bytes live in UPLOAD_DIR under `storage_name`, never under the user's name.

    Exactly one owner: the member who uploaded it in the mini-program, or the staff member who uploaded
    it in the admin. `attached_at` is set when a record (an announcement, later a care request …) takes
    it; an upload nothing took within a day is purged with its file.
    """

    __tablename__ = "uploads"
    __table_args__ = (
        sa.CheckConstraint("(member_id IS NULL) <> (staff_id IS NULL)", name="one_owner"),
        sa.CheckConstraint("size > 0", name="size_positive"),
        # The purge looks only at unattached rows; the index stays as small as they are.
        sa.Index(
            "ix_uploads_unattached_created",
            "created_at",
            postgresql_where=sa.text("attached_at IS NULL"),
            sqlite_where=sa.text("attached_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(120))
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attached_at: Mapped[datetime | None]

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    def is_owned_by(self, member: Member | None) -> bool:
        """The member who uploaded it (staff read announcement files through the admin instead)."""
        return member is not None and self.member_id == member.id

    def __repr__(self) -> str:
        return f"<Upload {self.id} {self.content_type} {self.size}>"
