"""Recording uploads, handing them to the records that attach them, and purging what nobody took."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from itertools import islice

import sqlalchemy as sa

from backend.db import MAX_ID, after_commit, utcnow
from backend.errors import DomainError, ValidationFailed
from backend.extensions import db
from backend.members.models import Member
from backend.staff.models import Staff
from backend.uploads.models import Upload
from backend.uploads.storage import (
    StagedFile,
    human_size,
    member_pending_bytes,
    new_storage_name,
    remove_stale_temp_files,
    remove_stored,
    stored_names_older_than,
)

log = logging.getLogger(__name__)

UNATTACHED_TTL = timedelta(days=1)
# How many storage names one query checks against the uploads table when looking for orphaned files.
ORPHAN_BATCH = 500


class UploadQuotaExceeded(DomainError):
    """The member's uploads that no form has used yet already add up to UPLOAD_MEMBER_PENDING_BYTES.

    429, not 413: this file is within the per-file limit, and the same upload succeeds later without
    any change (once a form attaches the pending files, or the purge removes them after a day).
    """

    status = 429
    code = "upload_quota_exceeded"
    message = "已上传但还没提交使用的文件太多，请先提交正在填写的申请；未使用的文件一天后会自动清除"


def _lock_member(member: Member) -> None:
    """One upload per member at a time until the commit (PostgreSQL), so two at once cannot both fit.

    FOR NO KEY UPDATE, not FOR UPDATE: rows that merely reference the member (an inbox entry, this
    upload itself) take FOR KEY SHARE, and must not wait for it. SQLite needs nothing: every
    transaction there takes the write lock when it begins.
    """
    db.session.execute(sa.select(Member.id).where(Member.id == member.id).with_for_update(key_share=True))


def _refuse_over_quota(member: Member) -> None:
    """Counts after the new row is flushed, so the sum includes it and every upload committed before."""
    limit = member_pending_bytes()
    if limit is None:
        return
    pending = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Upload.size), 0)).where(
            Upload.member_id == member.id, Upload.attached_at.is_(None)
        )
    )
    if pending > limit:
        raise UploadQuotaExceeded(
            f"已上传但还没提交使用的文件合计不能超过 {human_size(limit)}。请先提交正在填写的申请；"
            "未使用的文件一天后会自动清除"
        )


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
    taken at once, for a record saved in the same transaction. A member's unattached uploads may not
    add up to more than UPLOAD_MEMBER_PENDING_BYTES (UploadQuotaExceeded, nothing kept).
    """
    if (member is None) == (staff is None):
        raise ValueError("an upload has exactly one owner: a member or a staff member")
    quota_owner = member if not attach else None  # what a member attaches at once is not pending
    if quota_owner is not None:
        _lock_member(quota_owner)
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
    if quota_owner is not None:
        _refuse_over_quota(quota_owner)
    staged.place(upload.storage_name)
    return upload


ATTACHMENTS_GONE = {"attachment_ids": ["附件不存在、已被使用或已过期，请重新上传"]}


def attach_uploads(upload_ids: Sequence[int], *, member: Member, now: datetime | None = None) -> list[Upload]:
    """Hands the member's own, not yet attached uploads to a record being saved (`attachment_ids`).

    One conditional UPDATE claims them, so an upload is attached once even when two requests race, and
    never after the purge removed it. Any id that is not the member's, is taken, or is gone refuses all.
    """
    wanted = list(dict.fromkeys(upload_ids))
    if not wanted:
        return []
    if not all(1 <= upload_id <= MAX_ID for upload_id in wanted):  # cannot be one of ours
        raise ValidationFailed(errors=ATTACHMENTS_GONE)
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
        raise ValidationFailed(errors=ATTACHMENTS_GONE)
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
    re-checks `attached_at` row by row, so an upload attached at this moment is kept. After the commit
    it also clears what crashed processes left: half-received files in `tmp/`, and files in `files/`
    that no row names (`remove_orphaned_files`). Returns how many uploads were purged.
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

    def clean_files() -> None:
        remove_stored(names)
        remove_stale_temp_files(seconds)
        remove_orphaned_files(older_than=older_than)

    after_commit(db.session, clean_files)
    return len(names)


def _batches(names: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(names)
    while batch := list(islice(iterator, size)):
        yield batch


def remove_orphaned_files(*, older_than: timedelta = UNATTACHED_TTL, batch: int = ORPHAN_BATCH) -> int:
    """Removes files under `files/` older than `older_than` whose storage name no upload row has.

    They are left by a process killed between moving a file into place and committing its row, or
    between deleting a row and removing its file. Names are checked `batch` at a time, on a connection
    of its own outside any transaction of the session (call it after a commit, not inside a unit of
    work: on SQLite it would wait for that unit's write lock). A file younger than `older_than` may
    belong to a transaction still running, so it is never looked at. Returns how many were removed.
    """
    removed = 0
    with db.engine.connect() as connection:
        for names in _batches(stored_names_older_than(older_than.total_seconds()), batch):
            known = set(
                connection.scalars(sa.select(Upload.storage_name).where(Upload.storage_name.in_(names)))
            )
            connection.rollback()  # a read: let go of SQLite's write lock before touching the files
            orphans = [name for name in names if name not in known]
            remove_stored(orphans)
            removed += len(orphans)
    if removed:
        log.warning("removed %d upload files that no upload row named (left by a crashed process)", removed)
    return removed
