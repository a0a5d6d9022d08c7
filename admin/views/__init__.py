"""Admin views, one module per domain; importing them attaches their routes to the Blueprint."""

from admin.views import announcements, auth, dashboard, groups, join_requests, members, roster, staff

__all__ = ["announcements", "auth", "dashboard", "groups", "join_requests", "members", "roster", "staff"]
