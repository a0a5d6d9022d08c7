"""Imports every domain's models so that metadata (and Alembic) sees all tables."""

from backend.announcements.models import Announcement, AnnouncementRecipient  # noqa: F401
from backend.audit.models import AuditLog
from backend.members.models import ApiToken, Group, GroupChange, JoinRequest, Member, WechatAccount
from backend.notifications.models import Notification, SubscriptionCredit
from backend.staff.models import Staff

__all__ = [
    "ApiToken",
    "AuditLog",
    "Group",
    "GroupChange",
    "JoinRequest",
    "Member",
    "Notification",
    "Staff",
    "SubscriptionCredit",
    "WechatAccount",
]
