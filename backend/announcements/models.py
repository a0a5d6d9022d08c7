"""Announcements (公告 / 通知): what staff publish to the whole union or to chosen groups, and who got it."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import utcnow
from backend.extensions import db
from backend.members.models import Group, Member, str_enum
from backend.staff.models import Staff
from backend.staff.permissions import Permission
from backend.uploads.models import Upload


class AnnouncementCategory(enum.StrEnum):
    notice = "notice"
    publicity = "publicity"
    factory_affairs = "factory_affairs"


CATEGORY_LABELS = {"notice": "通知", "publicity": "公示", "factory_affairs": "厂务公开"}


class AnnouncementStatus(enum.StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    published = "published"
    withdrawn = "withdrawn"


STATUS_LABELS = {"draft": "草稿", "scheduled": "定时发布", "published": "已发布", "withdrawn": "已撤回"}

announcement_groups = sa.Table(
    "announcement_groups",
    db.metadata,
    sa.Column("announcement_id", sa.ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True),
    # No cascade: a group that an announcement was sent to stays (delete_group says so).
    sa.Column("group_id", sa.ForeignKey("groups.id"), primary_key=True, index=True),
)

# Files staff attached to an announcement (each upload belongs to one announcement at most).
announcement_attachments = sa.Table(
    "announcement_attachments",
    db.metadata,
    sa.Column("upload_id", sa.ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "announcement_id",
        sa.ForeignKey("announcements.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
)


class Announcement(db.Model):
    """One announcement. `whole_union` or the `groups` (each reaching every group below it) say who sees it.

    The CHECK constraints tie each status to the timestamps it needs, so no code path (or hand-written
    SQL) can leave a "published" row without a publication time, or a draft with one.
    """

    __tablename__ = "announcements"
    __table_args__ = (
        sa.CheckConstraint(
            "status != 'draft' OR (publish_at IS NULL AND published_at IS NULL AND withdrawn_at IS NULL)",
            name="draft_has_no_times",
        ),
        sa.CheckConstraint(
            "status != 'scheduled' OR (publish_at IS NOT NULL AND published_at IS NULL "
            "AND withdrawn_at IS NULL)",
            name="scheduled_has_publish_at",
        ),
        sa.CheckConstraint(
            "status != 'published' OR (published_at IS NOT NULL AND withdrawn_at IS NULL)",
            name="published_has_published_at",
        ),
        sa.CheckConstraint(
            "status != 'withdrawn' OR (published_at IS NOT NULL AND withdrawn_at IS NOT NULL)",
            name="withdrawn_has_both_times",
        ),
        sa.Index("ix_announcements_status_publish_at", "status", "publish_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    body_html: Mapped[str] = mapped_column(sa.Text)
    summary: Mapped[str] = mapped_column(sa.String(200), default="")
    category: Mapped[AnnouncementCategory] = mapped_column(
        str_enum(AnnouncementCategory, "announcement_category"), index=True
    )
    whole_union: Mapped[bool] = mapped_column(default=False)
    pinned: Mapped[bool] = mapped_column(default=False)
    push: Mapped[bool] = mapped_column(default=True)
    status: Mapped[AnnouncementStatus] = mapped_column(
        str_enum(AnnouncementStatus, "announcement_status"), default=AnnouncementStatus.draft
    )
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    publish_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    withdrawn_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    author: Mapped[Staff] = relationship()
    groups: Mapped[list[Group]] = relationship(secondary=announcement_groups, order_by="Group.path")
    attachments: Mapped[list[Upload]] = relationship(secondary=announcement_attachments, order_by=Upload.id)
    recipients: Mapped[list[AnnouncementRecipient]] = relationship(
        back_populates="announcement", passive_deletes=True
    )

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.category.value]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status.value]

    @property
    def is_editable(self) -> bool:
        return self.status in (AnnouncementStatus.draft, AnnouncementStatus.scheduled)

    def can_manage(self, staff: Staff) -> bool:
        """Staff manage what they could have written: the whole audience lies within their scope."""
        if not staff.can(Permission.manage_announcements):
            return False
        if staff.holds_whole_union:
            return True
        if self.whole_union or not self.groups:
            return False
        return all(staff.in_scope(group) for group in self.groups)

    @property
    def was_sent(self) -> bool:
        return self.status in (AnnouncementStatus.published, AnnouncementStatus.withdrawn)

    def reaches_all_of(self, staff: Staff) -> bool:
        """The audience covers the staff member's whole scope: the whole union, or a group at or above it."""
        return self.whole_union or any(group.contains(staff.scope) for group in self.groups)

    def can_view(self, staff: Staff) -> bool:
        """What staff may open: what they manage, and, read-only, an announcement sent to everyone in
        their scope (a branch officer sees the union-wide ones, to chase their own members' reads).
        Never one that only part of their scope, or another branch, received."""
        if self.can_manage(staff):
            return True
        return staff.can(Permission.manage_announcements) and self.was_sent and self.reaches_all_of(staff)

    def __repr__(self) -> str:
        return f"<Announcement {self.id} {self.status}>"


class AnnouncementRecipient(db.Model):
    """Who an announcement was sent to, fixed when it was published (with the group they were in then).

    `in_snapshot` is false for a member who joined the audience later and opened the announcement:
    their read is remembered, but figures count only the snapshot that staff actually sent to.
    """

    __tablename__ = "announcement_recipients"
    __table_args__ = (
        sa.UniqueConstraint("announcement_id", "member_id"),
        sa.Index("ix_announcement_recipients_announcement_id_group_id", "announcement_id", "group_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(sa.ForeignKey("announcements.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups.id"))
    in_snapshot: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    last_reminded_at: Mapped[datetime | None]

    announcement: Mapped[Announcement] = relationship(back_populates="recipients")
    member: Mapped[Member] = relationship()
    group: Mapped[Group] = relationship()
