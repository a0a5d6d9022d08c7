"""Files attached to an announcement: staff add and remove them while it is a draft or scheduled."""

from __future__ import annotations

from collections.abc import Sequence

from backend.announcements.models import Announcement
from backend.announcements.operations import require_manage, require_state
from backend.announcements.workflow import Action
from backend.audit.operations import record
from backend.errors import NotFound, ValidationFailed
from backend.extensions import db
from backend.staff.models import Staff
from backend.uploads.models import Upload
from backend.uploads.operations import delete_upload, store_upload
from backend.uploads.storage import StagedFile

MAX_ATTACHMENTS = 20


def add_attachments(announcement: Announcement, files: Sequence[StagedFile], *, staff: Staff) -> list[Upload]:
    """Stores checked files (from `staged_uploads`) as the announcement's attachments."""
    require_manage(announcement, staff)
    require_state(announcement, Action.edit)
    if not files:
        return []
    if len(announcement.attachments) + len(files) > MAX_ATTACHMENTS:
        raise ValidationFailed(errors={"attachments": [f"每条公告最多 {MAX_ATTACHMENTS} 个附件"]})
    uploads = [store_upload(staged, staff=staff, attach=True) for staged in files]
    announcement.attachments.extend(uploads)
    db.session.flush()
    record(
        "announcement.attach",
        staff=staff,
        target=announcement,
        uploads=[{"id": u.id, "filename": u.filename, "sha256": u.sha256} for u in uploads],
    )
    return uploads


def attachment_of(announcement: Announcement, upload_id: int) -> Upload:
    """One of the announcement's attachments; 404 for any other upload."""
    upload = next((u for u in announcement.attachments if u.id == upload_id), None)
    if upload is None:
        raise NotFound()
    return upload


def remove_attachment(announcement: Announcement, upload_id: int, *, staff: Staff) -> None:
    """Takes an attachment off (no member has seen it: the announcement is not published yet)."""
    require_manage(announcement, staff)
    upload = attachment_of(announcement, upload_id)
    require_state(announcement, Action.edit)
    announcement.attachments.remove(upload)
    record(
        "announcement.detach", staff=staff, target=announcement, upload_id=upload.id, filename=upload.filename
    )
    delete_upload(upload)
