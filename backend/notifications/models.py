"""The notification ledger (one row per member and message), the subscribe credits we believe in,
and the reports behind them (subscribe grants, WeChat pushes already handled).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import utcnow
from backend.extensions import db
from backend.members.models import Member, str_enum


class NotificationKind(enum.StrEnum):
    announcement = "announcement"
    activity = "activity"
    application = "application"
    care = "care"
    system = "system"


class DeliveryState(enum.StrEnum):
    """The WeChat side of a notification; the inbox copy exists whatever this says.

    pending → sending → sent | no_credit | failed, or pending again (transient failure, with backoff).
    skipped: push was off, the member has no WeChat account, or the kind has no template.
    """

    pending = "pending"
    sending = "sending"
    sent = "sent"
    no_credit = "no_credit"
    failed = "failed"
    skipped = "skipped"


FINAL_STATES = frozenset(
    {DeliveryState.sent, DeliveryState.no_credit, DeliveryState.failed, DeliveryState.skipped}
)

# What the inbox shows instead of the body of a message whose announcement was withdrawn.
WITHDRAWN_BODY = "该公告已撤回"
# last_error_code of a push that was still waiting when its announcement was withdrawn (never sent).
WITHDRAWN_BEFORE_SENDING = "withdrawn"

DELIVERY_STATE_LABELS = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已送达",
    "no_credit": "未订阅",
    "failed": "发送失败",
    "skipped": "不推送",
}


class Notification(db.Model):
    """One message to one member: the inbox entry and its WeChat delivery (a transactional outbox row).

    Written to a roster member (``member_id``), or to a WeChat account that has no member
    (``wechat_account_id``): a worker whose join request was rejected never becomes a member, and is
    still told. The inbox of an account shows both (backend/notifications/queries.py: ``inbox``).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        # The delivery queue: only unfinished rows are indexed, so the index stays small for ever.
        sa.Index(
            "ix_notifications_due",
            "wechat_state",
            "next_attempt_at",
            postgresql_where=sa.text("wechat_state IN ('pending', 'sending')"),
            sqlite_where=sa.text("wechat_state IN ('pending', 'sending')"),
        ),
        sa.Index("ix_notifications_member_created", "member_id", "created_at"),
        sa.Index(
            "ix_notifications_account_created",
            "wechat_account_id",
            "created_at",
            postgresql_where=sa.text("wechat_account_id IS NOT NULL"),
            sqlite_where=sa.text("wechat_account_id IS NOT NULL"),
        ),
        # A message goes to a roster member, or (before there is one, e.g. a rejected join request) to
        # the WeChat account that asked.
        sa.CheckConstraint("member_id IS NOT NULL OR wechat_account_id IS NOT NULL", name="has_recipient"),
        sa.CheckConstraint("wechat_state != 'sent' OR sent_at IS NOT NULL", name="sent_has_time"),
        sa.CheckConstraint(
            "wechat_state != 'sending' OR claimed_until IS NOT NULL", name="sending_has_lease"
        ),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"))
    wechat_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("wechat_accounts.id", ondelete="CASCADE")
    )
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, "notification_kind"))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    link: Mapped[str | None] = mapped_column(sa.String(500))
    # The raw values for the subscribe template (before fitting), JSON-safe (datetimes as ISO text).
    data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # Set when what the message is about was taken back (a withdrawn announcement): the inbox keeps the
    # entry, says so, and no longer shows its text (miniprogram_api/messages.py).
    withdrawn_at: Mapped[datetime | None]

    wechat_state: Mapped[DeliveryState] = mapped_column(
        str_enum(DeliveryState, "delivery_state"), default=DeliveryState.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error_code: Mapped[str | None] = mapped_column(sa.String(40))
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    next_attempt_at: Mapped[datetime | None]
    # A claim: while in the future, the row belongs to one worker (also the fence for its updates).
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    member: Mapped[Member | None] = relationship()

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def shown_body(self) -> str:
        """The text the inbox shows: none of a withdrawn message's own, a fixed line instead."""
        return WITHDRAWN_BODY if self.withdrawn else self.body

    @property
    def wechat_state_label(self) -> str:
        return DELIVERY_STATE_LABELS[self.wechat_state.value]

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.dedupe_key} {self.wechat_state.value}>"


class SubscriptionCredit(db.Model):
    """One-time subscribe credits of a WeChat account for a template, as far as we know.

    WeChat is the authority: a send it accepts spends one, 43101 means there are none left.
    """

    __tablename__ = "subscription_credits"
    __table_args__ = (
        sa.UniqueConstraint("wechat_account_id", "template_id"),
        sa.CheckConstraint("count >= 0", name="count_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wechat_account_id: Mapped[int] = mapped_column(sa.ForeignKey("wechat_accounts.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(sa.String(64))
    count: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GrantSource(enum.StrEnum):
    """Who told us about an ``accept``: the mini-program (POST /me/subscriptions) or WeChat's push."""

    client = "client"
    push = "push"


class SubscriptionGrant(db.Model):
    """One ``accept`` as one source reported it. A tap is usually reported twice (client and push):
    the second report pairs with the first and adds no credit (backend/notifications/subscriptions.py).
    """

    __tablename__ = "subscription_grants"
    __table_args__ = (
        sa.Index("ix_subscription_grants_pairing", "wechat_account_id", "template_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wechat_account_id: Mapped[int] = mapped_column(sa.ForeignKey("wechat_accounts.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(sa.String(64))
    source: Mapped[GrantSource] = mapped_column(str_enum(GrantSource, "subscription_grant_source"))
    # Our clock, not WeChat's CreateTime: both sources are timed the same way.
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The grant from the other source this one was paired with; NULL while unpaired (it added a credit).
    # No foreign key: purging deletes by age, and the two halves of a pair may fall on either side.
    paired_with_id: Mapped[int | None]


class HandledPush(db.Model):
    """A WeChat push already applied, by a digest of its content: WeChat re-sends a push it got no
    quick answer to, and a repeat must not count twice (whichever web process receives it).
    The digest, not the message, is kept: no openid survives an account deletion here.
    """

    __tablename__ = "handled_pushes"

    digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    event: Mapped[str] = mapped_column(sa.String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
