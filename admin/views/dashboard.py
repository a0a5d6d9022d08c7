"""工作台: what needs attention in the staff member's scope."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import render_template

from admin.blueprint import bp, current_staff
from backend.extensions import db
from backend.members.models import Member, MemberStatus
from backend.members.queries import pending_join_requests


def _count(query: sa.Select[Any]) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0


@bp.get("/")
def dashboard() -> Any:
    staff = current_staff()
    counts: dict[str, int] = {}
    if staff.can("view_members"):
        in_scope = sa.select(Member.id).where(staff.scope_filter(Member.group_id))
        counts["active"] = _count(in_scope.where(Member.status == MemberStatus.active))
        counts["left"] = _count(in_scope.where(Member.status == MemberStatus.left))
    if staff.can("review_join_requests"):
        counts["pending"] = _count(pending_join_requests(staff))
    return render_template("admin/dashboard.html", counts=counts, staff=staff)
