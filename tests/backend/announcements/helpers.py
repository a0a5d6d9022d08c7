"""Announcements made through the operations staff use (each call commits, like a request)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from io import BytesIO
from typing import Any

import sqlalchemy as sa
from flask import Flask

from backend.announcements import operations, reading
from backend.announcements.attachments import add_attachments
from backend.announcements.models import Announcement, AnnouncementCategory, AnnouncementRecipient
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Group
from backend.notifications.models import Notification
from backend.staff.models import Staff
from backend.uploads.storage import staged_uploads


def make_announcement(
    app: Flask,
    staff_id: int,
    *,
    group_ids: Sequence[int] = (),
    whole_union: bool = False,
    publish: bool = True,
    publish_at: datetime | None = None,
    now: datetime | None = None,
    title: str = "关于春节放假的通知",
    body_html: str = "<p>春节放假七天。</p>",
    category: str = "notice",
    pinned: bool = False,
    push: bool = True,
) -> int:
    with app.app_context(), unit_of_work():
        staff = db.session.get(Staff, staff_id)
        announcement = operations.create_announcement(
            staff=staff,
            title=title,
            body_html=body_html,
            category=AnnouncementCategory(category),
            whole_union=whole_union,
            groups=[db.session.get(Group, gid) for gid in group_ids],
            pinned=pinned,
            push=push,
        )
        if publish_at is not None:
            operations.schedule(announcement, staff=staff, publish_at=publish_at, now=now)
        elif publish:
            operations.publish(announcement, staff=staff, now=now)
        announcement_id = announcement.id
    return announcement_id


def act(app: Flask, announcement_id: int, operation: str, staff_id: int | None = None, **kwargs: Any) -> Any:
    """Runs one operation on an announcement in its own unit of work; returns its result."""
    with app.app_context(), unit_of_work():
        announcement = db.session.get(Announcement, announcement_id)
        if staff_id is not None:
            kwargs["staff"] = db.session.get(Staff, staff_id)
        verb = getattr(operations, operation, None) or getattr(reading, operation)
        result = verb(announcement, **kwargs)
        return result if isinstance(result, int | bool) else None


def recipient_ids(app: Flask, announcement_id: int) -> set[int]:
    with app.app_context():
        return set(
            db.session.scalars(
                sa.select(AnnouncementRecipient.member_id).where(
                    AnnouncementRecipient.announcement_id == announcement_id,
                    AnnouncementRecipient.in_snapshot.is_(True),
                )
            )
        )


def notifications_for(app: Flask, announcement_id: int) -> list[tuple[int, str]]:
    """(member id, dedupe key) of every inbox message about the announcement."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Notification.member_id, Notification.dedupe_key)
            .where(Notification.dedupe_key.startswith(f"announcement:{announcement_id}:"))
            .order_by(Notification.id)
        )
        return [tuple(row) for row in rows]


def attach(app: Flask, announcement_id: int, staff_id: int, files: Sequence[tuple[bytes, str]]) -> list[int]:
    """Attaches files (bytes, name) to a draft or scheduled announcement, as the admin's form does."""
    streams = [(BytesIO(data), name) for data, name in files]
    with app.app_context(), staged_uploads(streams) as staged, unit_of_work():
        announcement = db.session.get(Announcement, announcement_id)
        uploads = add_attachments(announcement, staged, staff=db.session.get(Staff, staff_id))
        return [upload.id for upload in uploads]
