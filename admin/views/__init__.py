"""Admin views, one module per domain; importing them attaches their routes to the Blueprint."""

from admin.views import (
    announcements,
    audit,
    auth,
    care,
    care_campaigns,
    care_policy,
    dashboard,
    groups,
    join_requests,
    members,
    roster,
    staff,
)

__all__ = [
    "announcements",
    "audit",
    "auth",
    "care",
    "care_campaigns",
    "care_policy",
    "dashboard",
    "groups",
    "join_requests",
    "members",
    "roster",
    "staff",
]
