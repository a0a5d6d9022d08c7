"""Imports every domain's models so that metadata (and Alembic) sees all tables."""

from backend.announcements.models import Announcement, AnnouncementRecipient  # noqa: F401
from backend.audit.models import AuditLog
from backend.idempotency import IdempotencyKey  # noqa: F401
from backend.members.models import ApiToken, Group, GroupChange, JoinRequest, Member, WechatAccount
from backend.notifications.models import HandledPush, Notification, SubscriptionCredit, SubscriptionGrant
from backend.staff.models import Staff
from backend.uploads.models import Upload  # noqa: F401

__all__ = [
    "ApiToken",
    "AuditLog",
    "Group",
    "GroupChange",
    "HandledPush",
    "JoinRequest",
    "Member",
    "Notification",
    "Staff",
    "SubscriptionCredit",
    "SubscriptionGrant",
    "WechatAccount",
]
