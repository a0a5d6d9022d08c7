"""What only the announcement tests read: the recipients snapshot and the inbox messages it made.

Making and acting on announcements is in tests/factories.py (the admin and API tests use it too).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from backend.announcements.models import AnnouncementRecipient
from backend.extensions import db
from backend.notifications.models import Notification


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
