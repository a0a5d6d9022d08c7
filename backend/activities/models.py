"""Activities (文体活动 / 普惠活动 / 培训 …): what staff offer, and who signed up for it.

Capacity counts persons (a registration takes ``1 + companions`` seats). ``seats_taken`` is the running
total of the seats of the registered (and attended) parties, changed only while the activity row is
locked (operations.lock_activity); the CHECK constraint is the last line should anything else write it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import utcnow
from backend.extensions import db
from backend.members.models import Group, Member, str_enum
from backend.staff.models import Staff
from backend.uploads.models import Upload


class ActivityCategory(enum.StrEnum):
    sports_culture = "sports_culture"
    benefit = "benefit"
    training = "training"
    volunteer = "volunteer"
    other = "other"


CATEGORY_LABELS = {
    "sports_culture": "文体活动",
    "benefit": "普惠活动",
    "training": "培训",
    "volunteer": "志愿服务",
    "other": "其他",
}


class Allocation(enum.StrEnum):
    first_come = "first_come"
    lottery = "lottery"


ALLOCATION_LABELS = {"first_come": "先到先得", "lottery": "报名后抽签"}


class ActivityStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    cancelled = "cancelled"


STATUS_LABELS = {"draft": "草稿", "published": "已发布", "cancelled": "已取消", "finished": "已结束"}


class RegistrationStatus(enum.StrEnum):
    registered = "registered"
    waitlisted = "waitlisted"
    applied = "applied"
    not_selected = "not_selected"
    cancelled = "cancelled"
    attended = "attended"
    no_show = "no_show"


REGISTRATION_STATUS_LABELS = {
    "registered": "已报名",
    "waitlisted": "候补中",
    "applied": "已申请（待抽签）",
    "not_selected": "未中签",
    "cancelled": "已取消",
    "attended": "已签到",
    "no_show": "未到场",
}

# A member has at most one of these per activity (the partial unique index); the others are history.
LIVE = ("registered", "waitlisted", "applied", "attended", "no_show")
# Statuses that hold seats.
SEATED = ("registered", "attended")

activity_groups = sa.Table(
    "activity_groups",
    db.metadata,
    sa.Column("activity_id", sa.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("group_id", sa.ForeignKey("groups.id"), primary_key=True, index=True),
)


class Activity(db.Model):
    __tablename__ = "activities"
    __table_args__ = (
        sa.CheckConstraint("seats_taken >= 0", name="seats_taken_not_negative"),
        sa.CheckConstraint("capacity IS NULL OR seats_taken <= capacity", name="seats_within_capacity"),
        sa.CheckConstraint("max_companions >= 0", name="companions_not_negative"),
        sa.CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
        sa.CheckConstraint(
            "registration_closes_at > registration_opens_at", name="registration_window_ordered"
        ),
        sa.Index("ix_activities_status_starts_at", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    category: Mapped[ActivityCategory] = mapped_column(
        str_enum(ActivityCategory, "activity_category"), index=True
    )
    description_html: Mapped[str] = mapped_column(sa.Text, default="")
    cover_upload_id: Mapped[int | None] = mapped_column(sa.ForeignKey("uploads.id", ondelete="SET NULL"))
    location: Mapped[str] = mapped_column(sa.String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    registration_opens_at: Mapped[datetime]
    registration_closes_at: Mapped[datetime]
    # None: a registration may be cancelled until the activity starts.
    cancel_deadline: Mapped[datetime | None]
    capacity: Mapped[int | None]
    max_companions: Mapped[int] = mapped_column(default=0)
    allocation: Mapped[Allocation] = mapped_column(
        str_enum(Allocation, "activity_allocation"), default=Allocation.first_come
    )
    waitlist_enabled: Mapped[bool] = mapped_column(default=True)
    checkin_required: Mapped[bool] = mapped_column(default=True)
    whole_union: Mapped[bool] = mapped_column(default=False)
    form_fields: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    status: Mapped[ActivityStatus] = mapped_column(
        str_enum(ActivityStatus, "activity_status"), default=ActivityStatus.draft
    )
    seats_taken: Mapped[int] = mapped_column(default=0)
    draw_seed: Mapped[str | None] = mapped_column(sa.String(64))
    drawn_at: Mapped[datetime | None]
    draw_applicants: Mapped[int | None]
    draw_winners: Mapped[int | None]
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    published_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    author: Mapped[Staff] = relationship()
    cover: Mapped[Upload | None] = relationship()
    groups: Mapped[list[Group]] = relationship(secondary=activity_groups, order_by="Group.path")

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.category.value]

    @property
    def allocation_label(self) -> str:
        return ALLOCATION_LABELS[self.allocation.value]

    def shown_status(self, now: datetime) -> str:
        """published / cancelled / finished (API.md), draft for staff."""
        if self.status == ActivityStatus.published and now >= self.ends_at:
            return "finished"
        return self.status.value

    def status_label(self, now: datetime) -> str:
        return STATUS_LABELS[self.shown_status(now)]

    def free_seats(self) -> int | None:
        return None if self.capacity is None else self.capacity - self.seats_taken

    def fits(self, seats: int) -> bool:
        return self.capacity is None or self.seats_taken + seats <= self.capacity

    @property
    def effective_cancel_deadline(self) -> datetime:
        return self.cancel_deadline or self.starts_at

    def __repr__(self) -> str:
        return f"<Activity {self.id} {self.status}>"


class Registration(db.Model):
    """One member's sign-up. ``member_id`` is NULL once the member deleted their account: a past
    activity's sign-in sheet is a financial record, so the row stays, anonymised (README)."""

    __tablename__ = "activity_registrations"
    __table_args__ = (
        sa.Index(
            "uq_activity_registrations_live",
            "activity_id",
            "member_id",
            unique=True,
            postgresql_where=sa.text(f"status IN {LIVE}"),
            sqlite_where=sa.text(f"status IN {LIVE}"),
        ),
        sa.Index("ix_activity_registrations_activity_id_status", "activity_id", "status"),
        # The waitlist in order, and its length (positions are gapless: the highest is the count).
        sa.Index(
            "ix_activity_registrations_waitlist",
            "activity_id",
            "waitlist_position",
            postgresql_where=sa.text("waitlist_position IS NOT NULL"),
            sqlite_where=sa.text("waitlist_position IS NOT NULL"),
        ),
        sa.CheckConstraint("companions >= 0", name="companions_not_negative"),
        sa.CheckConstraint(
            "(status = 'waitlisted') = (waitlist_position IS NOT NULL)", name="position_only_waitlisted"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("activities.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    # The member's group when they signed up: figures by group, and the sheet's 所属组织 after deletion.
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups.id"))
    status: Mapped[RegistrationStatus] = mapped_column(str_enum(RegistrationStatus, "registration_status"))
    waitlist_position: Mapped[int | None]
    companions: Mapped[int] = mapped_column(default=0)
    answers: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    checked_in_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]

    activity: Mapped[Activity] = relationship()
    member: Mapped[Member | None] = relationship()
    group: Mapped[Group] = relationship()

    @property
    def seats(self) -> int:
        return 1 + self.companions

    @property
    def status_label(self) -> str:
        return REGISTRATION_STATUS_LABELS[self.status.value]

    def __repr__(self) -> str:
        return f"<Registration {self.id} {self.status}>"
