"""Imports every domain's models so that metadata (and Alembic) sees all tables."""

from backend.activities.models import Activity, Registration
from backend.announcements.models import Announcement, AnnouncementRecipient
from backend.audit.models import AuditLog
from backend.care.models import (
    CareCampaign,
    CarePolicyChange,
    CarePolicyRule,
    CarePolicyYear,
    CareRequest,
    CareRequestEvent,
    CareVisit,
)
from backend.hardship.models import (
    HardshipApplication,
    HardshipEvent,
    HardshipFile,
    HardshipFund,
    HardshipObjection,
    HardshipPayment,
    HardshipStandard,
)
from backend.idempotency import IdempotencyKey
from backend.members.models import ApiToken, Group, GroupChange, JoinRequest, Member, WechatAccount
from backend.members.roster.models import RosterImport
from backend.notifications.models import HandledPush, Notification, SubscriptionCredit, SubscriptionGrant
from backend.staff.models import Staff
from backend.uploads.models import Upload
from backend.wechat.models import PushNonce

__all__ = [
    "Activity",
    "Announcement",
    "AnnouncementRecipient",
    "ApiToken",
    "AuditLog",
    "CareCampaign",
    "CarePolicyChange",
    "CarePolicyRule",
    "CarePolicyYear",
    "CareRequest",
    "CareRequestEvent",
    "CareVisit",
    "Group",
    "GroupChange",
    "HandledPush",
    "HardshipApplication",
    "HardshipEvent",
    "HardshipFile",
    "HardshipFund",
    "HardshipObjection",
    "HardshipPayment",
    "HardshipStandard",
    "IdempotencyKey",
    "JoinRequest",
    "Member",
    "Notification",
    "PushNonce",
    "Registration",
    "RosterImport",
    "Staff",
    "SubscriptionCredit",
    "SubscriptionGrant",
    "Upload",
    "WechatAccount",
]
