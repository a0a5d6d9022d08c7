"""Care visits (关怀走访 / 慰问): the yearly policy, members' requests, visits, festival campaigns."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import utcnow
from backend.extensions import db
from backend.members.models import Group, Member, str_enum
from backend.money import yuan
from backend.staff.models import Staff
from backend.uploads.models import Upload


class CareCategory(enum.StrEnum):
    hospitalization = "hospitalization"
    serious_illness = "serious_illness"
    bereavement = "bereavement"
    marriage = "marriage"
    childbirth = "childbirth"
    retirement = "retirement"
    festival = "festival"
    birthday = "birthday"
    hardship = "hardship"
    other = "other"


CATEGORY_LABELS: dict[str, str] = {
    "hospitalization": "住院慰问",
    "serious_illness": "大病慰问",
    "bereavement": "丧事慰问",
    "marriage": "结婚慰问",
    "childbirth": "生育慰问",
    "retirement": "退休慰问",
    "festival": "节日慰问",
    "birthday": "生日慰问",
    "hardship": "困难慰问",
    "other": "其他慰问",
}


class Frequency(enum.StrEnum):
    per_event = "per_event"
    per_year = "per_year"
    once = "once"


FREQUENCY_LABELS: dict[str, str] = {"per_event": "每次事件", "per_year": "每年一次", "once": "限一次"}


# The codes of the policy's rules (backend/care/policy.py), as staff read them on a visit and in the log.
RULE_LABELS: dict[str, str] = {
    "no_policy": "未设置该类标准",
    "once_a_year": "每年一次",
    "only_once": "限一次",
    "over_max_amount": "超过最高金额",
    "cash_not_allowed": "不得发放现金",
    "over_festival_cap": "超过节日慰问每人每年上限",
    "over_budget": "超出年度预算",
    "same_event": "同一事件已慰问",
}


class RequestStatus(enum.StrEnum):
    submitted = "submitted"
    scheduled = "scheduled"
    visited = "visited"
    closed = "closed"


REQUEST_STATUS_LABELS: dict[str, str] = {
    "submitted": "已提交",
    "scheduled": "已安排走访",
    "visited": "已走访",
    "closed": "已关闭",
}


class ContentState(enum.StrEnum):
    """What WeChat's content security (msg_sec_check v2) said of the member's text."""

    passed = "passed"  # shown to staff at once
    held = "held"  # "review", or WeChat could not be asked: a person looks at it first
    released = "released"  # a staff member read the held text and let it through


CONTENT_STATE_LABELS: dict[str, str] = {"passed": "已通过", "held": "待人工审核", "released": "人工审核通过"}


class VisitStatus(enum.StrEnum):
    planned = "planned"  # a campaign planned it; the gift is not yet handed over
    done = "done"


VISIT_STATUS_LABELS: dict[str, str] = {"planned": "已计划", "done": "已走访"}


class CarePolicyYear(db.Model):
    """One year's settings: the festival per-person cap and the share of it that warns (the lock row)."""

    __tablename__ = "care_policy_years"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    festival_cap_fen: Mapped[int | None]
    festival_warn_percent: Mapped[int] = mapped_column(default=80)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CarePolicyRule(db.Model):
    """One category's standard in one year."""

    __tablename__ = "care_policy_rules"
    __table_args__ = (
        sa.UniqueConstraint("year", "category"),
        sa.CheckConstraint("max_amount_fen >= 0", name="max_amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    category: Mapped[CareCategory] = mapped_column(str_enum(CareCategory, "care_category"))
    standard: Mapped[str] = mapped_column(sa.String(500), default="")
    max_amount_fen: Mapped[int]
    frequency: Mapped[Frequency] = mapped_column(str_enum(Frequency, "care_frequency"))
    cash_allowed: Mapped[bool] = mapped_column(default=False)
    # Bereavement: which relatives count (free text, e.g. 本人、配偶、父母、子女).
    relatives: Mapped[str] = mapped_column(sa.String(200), default="")
    budget_fen: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.category.value]

    @property
    def frequency_label(self) -> str:
        return FREQUENCY_LABELS[self.frequency.value]


class CarePolicyChange(db.Model):
    """History of the policy table: who changed what, before and after (a category, or the year's cap)."""

    __tablename__ = "care_policy_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    category: Mapped[str] = mapped_column(sa.String(24), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    changed_by: Mapped[Staff | None] = relationship()


care_request_attachments = sa.Table(
    "care_request_attachments",
    db.metadata,
    sa.Column("upload_id", sa.ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "request_id", sa.ForeignKey("care_requests.id", ondelete="CASCADE"), nullable=False, index=True
    ),
)

care_visit_photos = sa.Table(
    "care_visit_photos",
    db.metadata,
    sa.Column("upload_id", sa.ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("visit_id", sa.ForeignKey("care_visits.id", ondelete="CASCADE"), nullable=False, index=True),
)

care_campaign_groups = sa.Table(
    "care_campaign_groups",
    db.metadata,
    sa.Column("campaign_id", sa.ForeignKey("care_campaigns.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("group_id", sa.ForeignKey("groups.id"), primary_key=True, index=True),
)


class CareRequest(db.Model):
    """A life event a member reported (生病住院、结婚、生育 …) for the union to follow up."""

    __tablename__ = "care_requests"
    __table_args__ = (sa.Index("ix_care_requests_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"), index=True)
    category: Mapped[CareCategory] = mapped_column(str_enum(CareCategory, "care_category"))
    description: Mapped[str] = mapped_column(sa.Text)
    occurred_on: Mapped[date]
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, "care_request_status"), default=RequestStatus.submitted
    )
    content_state: Mapped[ContentState] = mapped_column(
        str_enum(ContentState, "care_content_state"), default=ContentState.passed
    )
    content_trace_id: Mapped[str | None] = mapped_column(sa.String(64))
    scheduled_on: Mapped[date | None]
    visitors: Mapped[str] = mapped_column(sa.String(200), default="")
    closed_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    member: Mapped[Member] = relationship()
    attachments: Mapped[list[Upload]] = relationship(secondary=care_request_attachments, order_by=Upload.id)
    events: Mapped[list[CareRequestEvent]] = relationship(
        back_populates="request", order_by="CareRequestEvent.id", passive_deletes=True
    )

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.category.value]

    @property
    def status_label(self) -> str:
        return REQUEST_STATUS_LABELS[self.status.value]

    @property
    def content_label(self) -> str:
        return CONTENT_STATE_LABELS[self.content_state.value]

    @property
    def is_held(self) -> bool:
        return self.content_state == ContentState.held

    @property
    def is_open(self) -> bool:
        return self.status in (RequestStatus.submitted, RequestStatus.scheduled)


class CareRequestEvent(db.Model):
    """One step of a request's timeline (the member sees these in the mini-program)."""

    __tablename__ = "care_request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("care_requests.id", ondelete="CASCADE"), index=True)
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus, "care_request_status"))
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[CareRequest] = relationship(back_populates="events")

    @property
    def status_label(self) -> str:
        return REQUEST_STATUS_LABELS[self.status.value]


class CareCampaign(db.Model):
    """A festival campaign (春节慰问 …): one planned visit for every active member of its groups."""

    __tablename__ = "care_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    festival: Mapped[str] = mapped_column(sa.String(50))
    year: Mapped[int]
    visit_on: Mapped[date]
    gift: Mapped[str] = mapped_column(sa.String(200))
    amount_fen: Mapped[int]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_at: Mapped[datetime | None]

    groups: Mapped[list[Group]] = relationship(secondary=care_campaign_groups, order_by="Group.path")
    created_by: Mapped[Staff] = relationship()


class CareVisit(db.Model):
    """A visit: who went, when, what was given and how much; the member's receipt (电子签收) and rating.

    (campaign_id, member_id) is unique, so running a campaign again never plans a second visit.
    """

    __tablename__ = "care_visits"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "member_id"),
        sa.CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        sa.CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_in_range"),
        sa.Index("ix_care_visits_member_id_category", "member_id", "category"),
        sa.Index("ix_care_visits_year_category", "year", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups.id"), index=True)
    category: Mapped[CareCategory] = mapped_column(str_enum(CareCategory, "care_category"))
    status: Mapped[VisitStatus] = mapped_column(str_enum(VisitStatus, "care_visit_status"))
    visited_on: Mapped[date]
    # The life event a per-event visit is for: its date (a request's occurred_on when made from one).
    event_on: Mapped[date | None]
    year: Mapped[int]
    visitors: Mapped[str] = mapped_column(sa.String(200), default="")
    gift: Mapped[str] = mapped_column(sa.String(200), default="")
    amount_fen: Mapped[int] = mapped_column(default=0)
    is_cash: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str] = mapped_column(sa.String(1000), default="")
    request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("care_requests.id", ondelete="SET NULL"), index=True
    )
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("care_campaigns.id"))
    override_reason: Mapped[str] = mapped_column(sa.String(300), default="")
    override_rules: Mapped[list[str] | None] = mapped_column(sa.JSON)
    override_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    received_at: Mapped[datetime | None]
    rating: Mapped[int | None]
    comment: Mapped[str] = mapped_column(sa.String(500), default="")
    # Content security said "review" (or could not be asked): staff see it marked, never as a normal comment.
    comment_held: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    rated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Member] = relationship()
    group: Mapped[Group] = relationship()
    campaign: Mapped[CareCampaign | None] = relationship()
    photos: Mapped[list[Upload]] = relationship(secondary=care_visit_photos, order_by=Upload.id)
    override_by: Mapped[Staff | None] = relationship(foreign_keys=[override_by_id])
    recorded_by: Mapped[Staff | None] = relationship(foreign_keys=[recorded_by_id])

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.category.value]

    @property
    def status_label(self) -> str:
        return VISIT_STATUS_LABELS[self.status.value]

    @property
    def amount_yuan(self) -> str:
        return yuan(self.amount_fen)
