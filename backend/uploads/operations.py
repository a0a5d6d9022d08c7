"""Recording uploads, handing them to the records that attach them, and purging what nobody took."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from backend.db import after_commit, utcnow
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.members.models import Member
from backend.staff.models import Staff
from backend.uploads.models import Upload
from backend.uploads.storage import StagedFile, new_storage_name, remove_stale_temp_files, remove_stored

UNATTACHED_TTL = timedelta(days=1)


def store_upload(
    staged: StagedFile,
    *,
    member: Member | None = None,
    staff: Staff | None = None,
    attach: bool = False,
    now: datetime | None = None,
) -> Upload:
    """Writes the row for a checked file and moves the file into place (inside `staged_uploads`).

    The owner is exactly one of `member` (the mini-program) or `staff` (the admin). `attach` marks it
    taken at once, for a record saved in the same transaction.
    """
    if (member is None) == (staff is None):
        raise ValueError("an upload has exactly one owner: a member or a staff member")
    now = now or utcnow()
    upload = Upload(
        member_id=member.id if member is not None else None,
        staff_id=staff.id if staff is not None else None,
        filename=staged.filename,
        content_type=staged.content_type,
        size=staged.size,
        sha256=staged.sha256,
        storage_name=new_storage_name(),
        created_at=now,
        attached_at=now if attach else None,
    )
    db.session.add(upload)
    db.session.flush()
    staged.place(upload.storage_name)
    return upload


def attach_uploads(upload_ids: Sequence[int], *, member: Member, now: datetime | None = None) -> list[Upload]:
    """Hands the member's own, not yet attached uploads to a record being saved (`attachment_ids`).

    One conditional UPDATE claims them, so an upload is attached once even when two requests race, and
    never after the purge removed it. Any id that is not the member's, is taken, or is gone refuses all.
    """
    wanted = list(dict.fromkeys(upload_ids))
    if not wanted:
        return []
    claimed = set(
        db.session.scalars(
            sa.update(Upload)
            .where(Upload.id.in_(wanted), Upload.member_id == member.id, Upload.attached_at.is_(None))
            .values(attached_at=now or utcnow())
            .returning(Upload.id)
            .execution_options(synchronize_session=False)
        )
    )
    if claimed != set(wanted):
        raise ValidationFailed(errors={"attachment_ids": ["附件不存在、已被使用或已过期，请重新上传"]})
    fresh = sa.select(Upload).where(Upload.id.in_(wanted)).execution_options(populate_existing=True)
    uploads = {upload.id: upload for upload in db.session.scalars(fresh)}
    return [uploads[upload_id] for upload_id in wanted]


def delete_upload(upload: Upload) -> None:
    """Removes the row now and the file once the transaction has committed."""
    storage_name = upload.storage_name
    db.session.delete(upload)
    db.session.flush()
    after_commit(db.session, lambda: remove_stored([storage_name]))


def purge_unattached_uploads(*, now: datetime | None = None, older_than: timedelta = UNATTACHED_TTL) -> int:
    """Deletes uploads that no record attached within `older_than` (a day), and their files.

    Run it inside `unit_of_work()` (`flask purge-expired`): files go only after the commit. The DELETE
    re-checks `attached_at` row by row, so an upload attached at this moment is kept. Also clears
    half-received files that a crashed process left in `tmp/`. Returns how many uploads were purged.
    """
    cutoff = (now or utcnow()) - older_than
    names = list(
        db.session.scalars(
            sa.delete(Upload)
            .where(Upload.attached_at.is_(None), Upload.created_at < cutoff)
            .returning(Upload.storage_name)
            .execution_options(synchronize_session=False)
        )
    )
    seconds = older_than.total_seconds()
    after_commit(db.session, lambda: (remove_stored(names), remove_stale_temp_files(seconds)))
    return len(names)
