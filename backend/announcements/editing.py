"""Saving an announcement as staff write it: content, audience, publish time and new attachments in one
operation, so the admin's form (and any later door) cannot save half of it; and discarding a draft."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from backend.announcements.attachments import add_attachments
from backend.announcements.models import Announcement, AnnouncementCategory
from backend.announcements.operations import (
    create_announcement,
    require_manage,
    require_state,
    set_publish_time,
    update_announcement,
)
from backend.announcements.workflow import Action
from backend.audit.operations import record
from backend.extensions import db
from backend.members.models import Group
from backend.staff.models import Staff
from backend.uploads.operations import delete_upload
from backend.uploads.storage import StagedFile


@dataclass(frozen=True)
class AnnouncementDraft:
    """What the staff member wrote. `group_ids` are ignored for a whole-union announcement;
    `publish_at` (aware) schedules it, None leaves or turns it a draft (see `set_publish_time`)."""

    title: str
    body_html: str
    category: AnnouncementCategory
    whole_union: bool
    group_ids: Sequence[int] = field(default_factory=tuple)
    pinned: bool = False
    push: bool = True
    publish_at: datetime | None = None


def _groups(draft: AnnouncementDraft) -> list[Group]:
    if draft.whole_union or not draft.group_ids:
        return []
    return list(db.session.scalars(sa.select(Group).where(Group.id.in_(list(draft.group_ids)))))


def save_announcement(
    announcement: Announcement | None,
    draft: AnnouncementDraft,
    *,
    staff: Staff,
    files: Sequence[StagedFile] = (),
) -> Announcement:
    """Creates (`announcement` None) or updates a draft or scheduled announcement, sets its publish
    time and stores `files` (checked by `staged_uploads`) as new attachments: all of it or, raising,
    none of it (the caller's transaction rolls back and the staged files go)."""
    content = {
        "title": draft.title,
        "body_html": draft.body_html,
        "category": draft.category,
        "whole_union": draft.whole_union,
        "groups": _groups(draft),
        "pinned": draft.pinned,
        "push": draft.push,
    }
    if announcement is None:
        announcement = create_announcement(staff=staff, **content)
    else:
        update_announcement(announcement, staff=staff, **content)
    set_publish_time(announcement, staff=staff, publish_at=draft.publish_at)
    add_attachments(announcement, files, staff=staff)
    return announcement


def delete_draft(announcement: Announcement, *, staff: Staff) -> None:
    """Deletes a draft and its attachments (their files go once the transaction has committed).

    The audit row keeps what it was (title, files), since the announcement itself is gone.
    """
    require_manage(announcement, staff)
    require_state(announcement, Action.delete)
    uploads = list(announcement.attachments)
    record(
        "announcement.delete",
        staff=staff,
        target=announcement,
        title=announcement.title,
        uploads=[{"id": u.id, "filename": u.filename, "sha256": u.sha256} for u in uploads],
    )
    announcement.attachments.clear()
    db.session.flush()
    for upload in uploads:
        delete_upload(upload)
    db.session.delete(announcement)
    db.session.flush()
