"""Imports every domain's models so that metadata (and Alembic) sees all tables."""

from backend.audit.models import AuditLog
from backend.members.models import ApiToken, Group, GroupChange, JoinRequest, Member, WechatAccount
from backend.staff.models import Staff

__all__ = ["ApiToken", "AuditLog", "Group", "GroupChange", "JoinRequest", "Member", "Staff", "WechatAccount"]
