"""工作台: what needs attention in the staff member's scope."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template

from admin.blueprint import bp, current_staff
from backend.announcements.today import announcements_today
from backend.care.due import due_list
from backend.db import utcnow
from backend.members.queries import binding_attacks, dashboard_counts
from backend.staff.permissions import Permission


@bp.get("/")
def dashboard() -> Any:
    staff = current_staff()
    limit = current_app.config["BINDING_FAILURE_LIMIT"]
    now = utcnow()
    return render_template(
        "admin/dashboard.html",
        counts=dashboard_counts(staff),
        attacks=binding_attacks(staff, at_least=limit),
        failure_limit=limit,
        staff=staff,
        today=announcements_today(staff, now=now),  # _dashboard_announcements.html
        now=now,
        care_due=due_list(staff) if staff.can(Permission.manage_care) else None,  # _dashboard_care.html
    )
