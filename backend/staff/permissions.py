"""What staff may do: each permission a member of one type, with the label staff read, and the roles.

A new domain adds its permissions here (e.g. ``Permission.review_hardship_first``) and gives them to
roles in ``ROLE_PERMISSIONS``; the admin's navigation, ``permission_required`` and ``Staff.can`` take
only these members, never a bare string.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    admin = "admin"
    chair = "chair"
    officer = "officer"
    group_leader = "group_leader"


ROLE_LABELS: dict[Role, str] = {
    Role.admin: "系统管理员",
    Role.chair: "工会主席",
    Role.officer: "工会干事",
    Role.group_leader: "工会小组长",
}


class Permission(enum.StrEnum):
    view_members = "view_members"
    edit_members = "edit_members"
    import_roster = "import_roster"
    manage_groups = "manage_groups"
    review_join_requests = "review_join_requests"
    manage_staff = "manage_staff"
    manage_announcements = "manage_announcements"
    view_audit_log = "view_audit_log"
    manage_activities = "manage_activities"
    review_hardship = "review_hardship"
    approve_hardship = "approve_hardship"
    disburse_hardship = "disburse_hardship"
    manage_hardship_standards = "manage_hardship_standards"
    export_hardship_ledger = "export_hardship_ledger"
    manage_care = "manage_care"
    record_care_visits = "record_care_visits"
    manage_care_policy = "manage_care_policy"

    @property
    def label(self) -> str:
        return PERMISSION_LABELS[self]


PERMISSION_LABELS: dict[Permission, str] = {
    Permission.view_members: "查看会员",
    Permission.edit_members: "编辑会员",
    Permission.import_roster: "导入名册",
    Permission.manage_groups: "管理组织",
    Permission.review_join_requests: "入会审核",
    Permission.manage_staff: "管理后台账号",
    Permission.manage_announcements: "发布公告",
    Permission.view_audit_log: "查看审计日志",
    Permission.manage_activities: "组织活动",
    Permission.review_hardship: "困难帮扶初审",
    Permission.approve_hardship: "困难帮扶终审",
    Permission.disburse_hardship: "困难帮扶发放",
    Permission.manage_hardship_standards: "设置帮扶标准与资金",
    Permission.export_hardship_ledger: "导出帮扶台账",
    Permission.manage_care: "关怀慰问管理",
    Permission.record_care_visits: "登记慰问走访",
    Permission.manage_care_policy: "设置关怀标准",
}

_OFFICER = frozenset(
    {
        Permission.view_members,
        Permission.edit_members,
        Permission.import_roster,
        Permission.review_join_requests,
        Permission.manage_announcements,
        Permission.manage_activities,
        Permission.review_hardship,
        Permission.disburse_hardship,
        Permission.manage_care,
        Permission.record_care_visits,
    }
)

# What each role may do, inside its scope. Kept as data so the admin can show it and tests can read it.
# view_audit_log (审计日志): the admin and the chair, who answer for what staff in their scope do; officers
# and group leaders are the people whose work the log records, so they do not read it.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.chair: frozenset(Permission) - {Permission.manage_staff},
    Role.officer: _OFFICER,
    Role.group_leader: frozenset({Permission.view_members, Permission.record_care_visits}),
}


def role_summaries() -> list[tuple[str, list[str]]]:
    """Each role's label with the labels of what it may do, as the staff pages list them."""
    return [(ROLE_LABELS[role], sorted(p.label for p in ROLE_PERMISSIONS[role])) for role in Role]
