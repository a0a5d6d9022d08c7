"""Hardship aid (困难职工帮扶): yearly standards, applications with their timeline, 公示 objections,
payments, the year's fund, and the household file (一户一档).

Reason, income, expenses, household size and the requested amount are encrypted at rest (DATA_KEY);
what staff decide (status, tier, granted amount) and what was paid are plain, for the ledger's sums.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.crypto import EncryptedString
from backend.db import utcnow
from backend.extensions import db
from backend.members.models import Group, Member, str_enum
from backend.staff.models import Staff
from backend.uploads.models import Upload


class Category(enum.StrEnum):
    living = "living"
    medical = "medical"
    education = "education"
    sudden = "sudden"
    other = "other"


CATEGORY_LABELS = {
    "living": "生活救助",
    "medical": "医疗救助",
    "education": "助学",
    "sudden": "意外致困/临时救助",
    "other": "其他",
}


class Tier(enum.StrEnum):
    deep = "deep"
    relative = "relative"
    sudden = "sudden"
    none = "none"


TIER_LABELS = {"deep": "深度困难", "relative": "相对困难", "sudden": "意外致困", "none": "不属于困难职工"}


class Status(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    returned = "returned"
    first_approved = "first_approved"
    publicized = "publicized"
    approved = "approved"
    disbursed = "disbursed"
    rejected = "rejected"
    withdrawn = "withdrawn"


STATUS_LABELS = {
    "draft": "草稿",
    "submitted": "待初审",
    "returned": "退回补充",
    "first_approved": "初审通过",
    "publicized": "公示中",
    "approved": "已批准",
    "disbursed": "已发放",
    "rejected": "未通过",
    "withdrawn": "已撤回",
}

# A member has at most one of these at a time (a partial unique index holds it under concurrency).
OPEN_STATUSES = ("draft", "submitted", "returned", "first_approved", "publicized", "approved")
DECIDED_STATUSES = ("approved", "disbursed", "rejected")


class PaymentMethod(enum.StrEnum):
    bank_transfer = "bank_transfer"
    cash = "cash"
    other = "other"


PAYMENT_METHOD_LABELS = {"bank_transfer": "银行转账", "cash": "现金", "other": "其他"}


class FileStatus(enum.StrEnum):
    active = "active"
    closed = "closed"


class ClosingReason(enum.StrEnum):
    escaped = "escaped"
    removed = "removed"


CLOSING_LABELS = {"escaped": "脱困", "removed": "退档"}


class ReviewOutcome(enum.StrEnum):
    keep = "keep"
    change_tier = "change_tier"
    close = "close"


REVIEW_OUTCOME_LABELS = {"keep": "保留在档", "change_tier": "调整困难类型", "close": "出档"}


class HardshipStandard(db.Model):
    """One version of a year's standard. Saving a change adds a row and marks the old one superseded, so a
    decision's `standard_id` always shows what was in force when it was made."""

    __tablename__ = "hardship_standards"
    __table_args__ = (
        sa.Index(
            "ix_hardship_standards_current_year",
            "year",
            unique=True,
            postgresql_where=sa.text("superseded_at IS NULL"),
            sqlite_where=sa.text("superseded_at IS NULL"),
        ),
        sa.CheckConstraint("dibao_monthly_fen > 0", name="dibao_positive"),
        sa.CheckConstraint("fund_total_fen >= 0", name="fund_not_negative"),
        sa.CheckConstraint("publicity_days >= 1", name="publicity_days_positive"),
        sa.CheckConstraint("yearly_limit >= 1", name="yearly_limit_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    dibao_monthly_fen: Mapped[int]
    fund_total_fen: Mapped[int] = mapped_column(sa.BigInteger)
    # {"medical": 500000, ...}: a category's own ceiling inside the total (absent: only the total binds).
    category_funds: Mapped[dict[str, int]] = mapped_column(sa.JSON, default=dict)
    publicity_days: Mapped[int] = mapped_column(default=5)
    yearly_limit: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None]

    created_by: Mapped[Staff | None] = relationship()


class HardshipFund(db.Model):
    """The year's lock row: a final approval (and a change of the year's standard) locks it FOR UPDATE
    while it checks what is left, so two approvals cannot both spend the last money.

    What was granted and paid is summed from the applications (`standards.granted_in`, the ledger): one
    source, so the fund page, the check and the ledger cannot disagree (the row keeps no totals)."""

    __tablename__ = "hardship_funds"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)


hardship_attachments = sa.Table(
    "hardship_attachments",
    db.metadata,
    sa.Column("upload_id", sa.ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "application_id",
        sa.ForeignKey("hardship_applications.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
)


class HardshipApplication(db.Model):
    __tablename__ = "hardship_applications"
    __table_args__ = (
        sa.Index(
            "ix_hardship_applications_one_open",
            "member_id",
            unique=True,
            postgresql_where=sa.text(f"status IN {OPEN_STATUSES}"),
            sqlite_where=sa.text(f"status IN {OPEN_STATUSES}"),
        ),
        sa.Index("ix_hardship_applications_status_group", "status", "group_id"),
        sa.CheckConstraint("granted_amount_fen IS NULL OR granted_amount_fen > 0", name="granted_positive"),
        sa.CheckConstraint(
            "granted_amount_fen IS NULL OR disbursed_fen <= granted_amount_fen", name="not_overpaid"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Null once the applicant deleted their account: a decided application is kept, unlinked.
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))
    # The applicant's group (kept in step with the member's): staff scope is checked against it.
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups.id"), index=True)
    category: Mapped[Category] = mapped_column(str_enum(Category, "hardship_category"))
    reason: Mapped[str | None] = mapped_column(EncryptedString())
    household_size: Mapped[str | None] = mapped_column(EncryptedString())
    household_income_fen: Mapped[str | None] = mapped_column(EncryptedString())
    hardship_expenses_fen: Mapped[str | None] = mapped_column(EncryptedString())
    requested_amount_fen: Mapped[str | None] = mapped_column(EncryptedString())
    status: Mapped[Status] = mapped_column(str_enum(Status, "hardship_status"), default=Status.draft)
    tier: Mapped[Tier | None] = mapped_column(str_enum(Tier, "hardship_tier"))
    granted_amount_fen: Mapped[int | None]
    disbursed_fen: Mapped[int] = mapped_column(default=0)
    # Staff may set the tier instead of the one the declared figures give, with a reason (encrypted).
    tier_override: Mapped[Tier | None] = mapped_column(str_enum(Tier, "hardship_tier_override"))
    tier_override_reason: Mapped[str | None] = mapped_column(EncryptedString())
    tier_override_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    tier_override_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(sa.String(32))
    sensitive_data_consent_at: Mapped[datetime | None]
    income_check_consent_at: Mapped[datetime | None]
    first_approver_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    final_decider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    standard_id: Mapped[int | None] = mapped_column(sa.ForeignKey("hardship_standards.id"))
    decision_year: Mapped[int | None]
    publicity_announcement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("announcements.id"))
    publicity_ends_at: Mapped[datetime | None]
    publicity_ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]

    member: Mapped[Member | None] = relationship()
    group: Mapped[Group] = relationship()
    standard: Mapped[HardshipStandard | None] = relationship()
    tier_override_by: Mapped[Staff | None] = relationship(foreign_keys=[tier_override_by_id])
    attachments: Mapped[list[Upload]] = relationship(secondary=hardship_attachments, order_by=Upload.id)
    events: Mapped[list[HardshipEvent]] = relationship(
        order_by="HardshipEvent.id", passive_deletes=True, back_populates="application"
    )
    objections: Mapped[list[HardshipObjection]] = relationship(
        order_by="HardshipObjection.id", passive_deletes=True
    )
    payments: Mapped[list[HardshipPayment]] = relationship(
        order_by="HardshipPayment.id", passive_deletes=True
    )

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status.value]

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.category.value]

    @property
    def tier_label(self) -> str:
        return TIER_LABELS[self.tier.value] if self.tier else "—"

    def figure(self, name: str) -> int | None:
        """An encrypted whole-number field as a number (None when not filled in)."""
        value = getattr(self, name)
        return int(value) if value not in (None, "") else None


class HardshipEvent(db.Model):
    """One row of an application's timeline: who (staff, the applicant, or the system), when, from, to."""

    __tablename__ = "hardship_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("hardship_applications.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(sa.String(32))
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    by_applicant: Mapped[bool] = mapped_column(default=False)
    from_status: Mapped[str | None] = mapped_column(sa.String(24))
    to_status: Mapped[str] = mapped_column(sa.String(24))
    comment: Mapped[str] = mapped_column(sa.Text, default="")

    application: Mapped[HardshipApplication] = relationship(back_populates="events")
    staff: Mapped[Staff | None] = relationship()


class HardshipObjection(db.Model):
    """An objection raised during the 公示 window, recorded by staff (its text may name people: encrypted)."""

    __tablename__ = "hardship_objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("hardship_applications.id", ondelete="CASCADE"), index=True
    )
    content: Mapped[str] = mapped_column(EncryptedString())
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    recorded_by: Mapped[Staff] = relationship()


class HardshipPayment(db.Model):
    """One disbursement: a financial record, kept with the application."""

    __tablename__ = "hardship_payments"
    __table_args__ = (sa.CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("hardship_applications.id", ondelete="CASCADE"), index=True
    )
    amount_fen: Mapped[int]
    paid_on: Mapped[date]
    method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod, "hardship_payment_method"))
    reference: Mapped[str] = mapped_column(sa.String(100), default="")
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    recorded_by: Mapped[Staff] = relationship()

    @property
    def method_label(self) -> str:
        return PAYMENT_METHOD_LABELS[self.method.value]


class HardshipFile(db.Model):
    """The household's file (一户一档): opened or renewed by a final approval, reviewed every year."""

    __tablename__ = "hardship_files"
    __table_args__ = (sa.Index("ix_hardship_files_status_due", "status", "review_due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"), unique=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups.id"), index=True)
    tier: Mapped[Tier] = mapped_column(str_enum(Tier, "hardship_file_tier"))
    status: Mapped[FileStatus] = mapped_column(str_enum(FileStatus, "hardship_file_status"))
    opened_on: Mapped[date]
    review_due_on: Mapped[date]
    reviewed_on: Mapped[date | None]
    closed_on: Mapped[date | None]
    closing_reason: Mapped[ClosingReason | None] = mapped_column(str_enum(ClosingReason, "hardship_closing"))
    closing_comment: Mapped[str | None] = mapped_column(EncryptedString())
    last_application_id: Mapped[int | None] = mapped_column(sa.ForeignKey("hardship_applications.id"))

    member: Mapped[Member | None] = relationship()
    group: Mapped[Group] = relationship()
    reviews: Mapped[list[HardshipFileReview]] = relationship(
        order_by="HardshipFileReview.id.desc()", passive_deletes=True
    )

    @property
    def tier_label(self) -> str:
        return TIER_LABELS[self.tier.value]

    @property
    def status_label(self) -> str:
        return "在档" if self.status == FileStatus.active else "已出档"


class HardshipFileReview(db.Model):
    """One yearly review (复核) of a household file: who, when, the outcome, the tier before and after,
    and the reason (free text: encrypted). Written by every review, never changed."""

    __tablename__ = "hardship_file_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("hardship_files.id", ondelete="CASCADE"), index=True)
    reviewed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_on: Mapped[date]
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    outcome: Mapped[ReviewOutcome] = mapped_column(str_enum(ReviewOutcome, "hardship_review_outcome"))
    tier_before: Mapped[Tier] = mapped_column(str_enum(Tier, "hardship_review_tier_before"))
    tier_after: Mapped[Tier] = mapped_column(str_enum(Tier, "hardship_review_tier_after"))
    closing_reason: Mapped[ClosingReason | None] = mapped_column(
        str_enum(ClosingReason, "hardship_review_closing")
    )
    reason: Mapped[str | None] = mapped_column(EncryptedString())

    staff: Mapped[Staff | None] = relationship()

    @property
    def outcome_label(self) -> str:
        label = REVIEW_OUTCOME_LABELS[self.outcome.value]
        return f"{label}（{CLOSING_LABELS[self.closing_reason.value]}）" if self.closing_reason else label
