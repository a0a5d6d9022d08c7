"""The union's tree of groups, its roster of members, and the WeChat accounts that log in."""

from __future__ import annotations

import enum
import unicodedata
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.crypto import EncryptedString, mask_phone
from backend.db import utcnow
from backend.extensions import db


# How a typed name and employee number are compared and stored: the roster, the roster import and the
# WeChat binding all match people by these, so they live beside the columns they fill.
def normalize_name(name: str) -> str:
    """Full-width letters, stray spaces and the middle dot variants should not make a mismatch."""
    text = unicodedata.normalize("NFKC", name)
    return "".join(text.split()).replace("•", "·").replace("・", "·")


def normalize_employee_no(employee_no: str) -> str:
    return unicodedata.normalize("NFKC", employee_no).strip().upper()


def str_enum(enum_cls: type[enum.StrEnum], name: str) -> sa.Enum:
    """Enums stored as their string values with a CHECK constraint (portable, readable in SQL)."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda e: [m.value for m in e],
    )


class Group(db.Model):
    """A node of the union's tree: company union → branch unions → groups.

    `path` is the materialised chain of ids ("/1/4/9/") so a subtree is one indexed prefix query.
    """

    __tablename__ = "groups"
    __table_args__ = (sa.UniqueConstraint("parent_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("groups.id"), index=True)
    path: Mapped[str] = mapped_column(sa.String(255), index=True, default="")
    sort_order: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Group | None] = relationship(remote_side="Group.id", back_populates="children")
    children: Mapped[list[Group]] = relationship(
        back_populates="parent", order_by="Group.sort_order, Group.id"
    )
    members: Mapped[list[Member]] = relationship(back_populates="group")

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2

    def contains(self, other: Group | None) -> bool:
        """True when `other` is this group or lies below it."""
        return other is not None and other.path.startswith(self.path)

    def __repr__(self) -> str:
        return f"<Group {self.id} {self.name}>"


class MemberStatus(enum.StrEnum):
    pending = "pending"
    active = "active"
    left = "left"


MEMBER_STATUS_LABELS = {"pending": "待审核", "active": "在册", "left": "已离会"}


class Member(db.Model):
    """A person on the union roster. The phone number is encrypted; `phone_index` finds it."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50), index=True)
    employee_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    phone: Mapped[str | None] = mapped_column(EncryptedString())
    # backend/key_rotation.py rebuilds every column marked blind_index_of from the column it names.
    phone_index: Mapped[str | None] = mapped_column(
        sa.String(40), index=True, info={"blind_index_of": "phone"}
    )
    # The last four digits, under a key of their own (backend/crypto.py last4_index): the list's search.
    phone_last4_index: Mapped[str | None] = mapped_column(
        sa.String(16), index=True, info={"last4_index_of": "phone"}
    )
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups.id"), index=True)
    birthday: Mapped[date | None]
    joined_on: Mapped[date | None]
    retires_on: Mapped[date | None]  # 退休日期 (optional): the care due list shows retirements coming up
    status: Mapped[MemberStatus] = mapped_column(
        str_enum(MemberStatus, "member_status"), default=MemberStatus.active, index=True
    )
    left_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    group: Mapped[Group] = relationship(back_populates="members")
    wechat_account: Mapped[WechatAccount | None] = relationship(back_populates="member")
    group_changes: Mapped[list[GroupChange]] = relationship(
        back_populates="member", order_by="GroupChange.changed_at.desc()"
    )

    @property
    def phone_masked(self) -> str | None:
        return mask_phone(self.phone)

    @property
    def status_label(self) -> str:
        return MEMBER_STATUS_LABELS[self.status.value]

    def __repr__(self) -> str:
        return f"<Member {self.id} {self.employee_no}>"


class GroupChange(db.Model):
    """转会: a member moved from one group to another, by whom and why."""

    __tablename__ = "group_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"), index=True)
    from_group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("groups.id"))
    to_group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(sa.String(200), default="")

    member: Mapped[Member] = relationship(back_populates="group_changes")
    from_group: Mapped[Group | None] = relationship(foreign_keys=[from_group_id])
    to_group: Mapped[Group] = relationship(foreign_keys=[to_group_id])


class BindingProof(enum.StrEnum):
    """What showed that a bound account is the member's own: name + 工号 alone (NULL) proves nothing,
    since colleagues know both."""

    phone = "phone"  # the phone WeChat verified for the account equals the roster's
    staff = "staff"  # a staff member confirmed it, or approved the account's join request


BINDING_PROOF_LABELS = {"phone": "本人微信手机号与名册一致", "staff": "工作人员已确认"}


class WechatAccount(db.Model):
    """An openid that has logged in; bound to at most one member, a member to at most one account."""

    __tablename__ = "wechat_accounts"
    __table_args__ = (
        sa.CheckConstraint("binding_proof IS NULL OR member_id IS NOT NULL", name="proof_needs_member"),
        sa.CheckConstraint(
            "(binding_confirmed_at IS NOT NULL) = (COALESCE(binding_proof, '') = 'staff')",
            name="staff_proof_has_time",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(sa.String(64))
    # session_key decrypts wx.getUserInfo payloads; it never leaves the server and is encrypted at rest.
    session_key: Mapped[str | None] = mapped_column(EncryptedString())
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    bound_at: Mapped[datetime | None]
    binding_proof: Mapped[BindingProof | None] = mapped_column(str_enum(BindingProof, "binding_proof"))
    binding_confirmed_at: Mapped[datetime | None]
    binding_confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))

    member: Mapped[Member | None] = relationship(back_populates="wechat_account")
    join_requests: Mapped[list[JoinRequest]] = relationship(
        back_populates="wechat_account", order_by="JoinRequest.created_at.desc()"
    )

    @property
    def binding_awaits_confirmation(self) -> bool:
        """Bound by name + 工号 alone: the admin lists it for staff to confirm."""
        return self.member_id is not None and self.binding_proof is None

    @property
    def binding_proof_label(self) -> str:
        return BINDING_PROOF_LABELS[self.binding_proof.value] if self.binding_proof else "待工作人员确认"


class BindingFailure(db.Model):
    """A refused attempt to bind to a roster member (a wrong name or phone for its 工号).

    Counted per member (that is, per 工号) and day: past BINDING_FAILURE_LIMIT only the matching verified
    phone binds the member, and the dashboard shows the 工号 to staff. Written after the refused request
    rolled back, so that the refusal cannot undo its own count.
    """

    __tablename__ = "binding_failures"
    __table_args__ = (sa.Index("ix_binding_failures_member_created", "member_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"))
    wechat_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("wechat_accounts.id", ondelete="SET NULL"), index=True
    )
    reason: Mapped[str] = mapped_column(sa.String(24))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    member: Mapped[Member] = relationship()


class JoinRequestStatus(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    cancelled = "cancelled"


JOIN_REQUEST_STATUS_LABELS = {
    "pending": "待审核",
    "approved": "已通过",
    "rejected": "未通过",
    "cancelled": "已撤回",
}


class JoinRequest(db.Model):
    """入会申请: a worker who is not on the roster asks to join; staff approve or reject."""

    __tablename__ = "join_requests"
    __table_args__ = (
        # One open request per account at a time.
        sa.Index(
            "uq_join_requests_open_per_account",
            "wechat_account_id",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="decision_matches_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wechat_account_id: Mapped[int] = mapped_column(sa.ForeignKey("wechat_accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(50))
    employee_no: Mapped[str] = mapped_column(sa.String(32))
    phone: Mapped[str | None] = mapped_column(EncryptedString())
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("groups.id"), index=True)
    status: Mapped[JoinRequestStatus] = mapped_column(
        str_enum(JoinRequestStatus, "join_request_status"), default=JoinRequestStatus.pending, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    decision_comment: Mapped[str] = mapped_column(sa.String(200), default="")
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))

    wechat_account: Mapped[WechatAccount] = relationship(back_populates="join_requests")
    group: Mapped[Group | None] = relationship()
    member: Mapped[Member | None] = relationship()

    @property
    def status_label(self) -> str:
        return JOIN_REQUEST_STATUS_LABELS[self.status.value]

    @property
    def phone_masked(self) -> str | None:
        return mask_phone(self.phone)


class ApiToken(db.Model):
    """A mini-program session. Only the SHA-256 of the token is stored: a leaked table logs nobody in."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    wechat_account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("wechat_accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]

    wechat_account: Mapped[WechatAccount] = relationship()

    def is_valid(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now
