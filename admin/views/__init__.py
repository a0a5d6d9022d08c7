"""Admin views, one module per domain; importing them attaches their routes to the Blueprint."""

from admin.views import (
    announcements,
    audit,
    auth,
    dashboard,
    groups,
    hardship,
    hardship_funds,
    join_requests,
    members,
    roster,
    staff,
)

__all__ = [
    "announcements",
    "audit",
    "auth",
    "dashboard",
    "groups",
    "hardship",
    "hardship_funds",
    "join_requests",
    "members",
    "roster",
    "staff",
]
