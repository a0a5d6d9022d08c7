"""Admin views, one module per domain; importing them attaches their routes to the Blueprint."""

from admin.views import (
    activities,
    activities_registrations,
    announcements,
    audit,
    auth,
    care,
    care_campaigns,
    care_policy,
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
    "activities",
    "activities_registrations",
    "announcements",
    "audit",
    "auth",
    "care",
    "care_campaigns",
    "care_policy",
    "dashboard",
    "groups",
    "hardship",
    "hardship_funds",
    "join_requests",
    "members",
    "roster",
    "staff",
]
