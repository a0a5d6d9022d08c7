"""工作台: the announcement work of the day for one staff member, in a fixed, small number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from backend.announcements.figures import Figures, figures_for_staff
from backend.announcements.models import Announcement, AnnouncementStatus
from backend.announcements.queries import manageable_by, viewable_by
from backend.announcements.reading import start_of_local_day
from backend.db import utcnow
from backend.extensions import db
from backend.staff.models import Staff
from backend.staff.permissions import Permission

RECENT_DAYS = 7
RECENT_LIMIT = 5


@dataclass(frozen=True)
class RecentAnnouncement:
    """A recent publication with its figures as this staff member may see them (their scope's, when
    they only view it)."""

    announcement: Announcement
    figures: Figures
    read_only: bool


@dataclass(frozen=True)
class AnnouncementsToday:
    # Scheduled to go out before midnight (Asia/Shanghai): a last look, or 取消定时. One whose time has
    # passed and still waits (the scheduler is behind) is here too.
    publishing_today: list[Announcement] = field(default_factory=list)
    # Published in the last RECENT_DAYS days, newest first: who has not read them, which pushes failed.
    recent: list[RecentAnnouncement] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.publishing_today and not self.recent


def announcements_today(staff: Staff, *, now: datetime | None = None) -> AnnouncementsToday | None:
    """None for staff who do not work on announcements. Three queries: the day's scheduled ones, the
    recent ones (their groups loaded with them), and their figures."""
    if not staff.can(Permission.manage_announcements):
        return None
    now = now or utcnow()
    midnight = start_of_local_day(now) + timedelta(days=1)
    publishing = db.session.scalars(
        sa.select(Announcement)
        .where(
            manageable_by(staff),
            Announcement.status == AnnouncementStatus.scheduled,
            Announcement.publish_at < midnight,
        )
        .order_by(Announcement.publish_at, Announcement.id)
    ).all()
    recent = db.session.scalars(
        sa.select(Announcement)
        .options(selectinload(Announcement.groups))
        .where(
            viewable_by(staff),
            Announcement.status == AnnouncementStatus.published,
            Announcement.published_at >= now - timedelta(days=RECENT_DAYS),
        )
        .order_by(Announcement.published_at.desc(), Announcement.id.desc())
        .limit(RECENT_LIMIT)
    ).all()
    figures = figures_for_staff(list(recent), staff)
    return AnnouncementsToday(
        publishing_today=list(publishing),
        recent=[
            RecentAnnouncement(a, figures.get(a.id, Figures()), read_only=not a.can_manage(staff))
            for a in recent
        ],
    )
