"""The due list (the admin dashboard): birthdays and retirements in the coming days, open requests, and
members in hospital whom nobody has followed up within CARE_FOLLOW_UP_DAYS days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app

from backend.care.models import CareCategory, CareRequest, RequestStatus
from backend.care.queries import request_queue, upcoming
from backend.db import SHANGHAI, count_rows, utcnow
from backend.extensions import db
from backend.members.models import Member, MemberStatus
from backend.staff.models import Staff

LIMIT = 20


@dataclass(frozen=True)
class DueList:
    days: int
    follow_up_days: int
    birthdays: list[Member]
    retirements: list[CareRequest]
    open_requests: int
    not_followed_up: list[CareRequest]

    @property
    def empty(self) -> bool:
        return not (self.birthdays or self.retirements or self.open_requests or self.not_followed_up)


def birthday_clause(days: list[tuple[int, int]]) -> sa.ColumnElement[bool]:
    month, day = sa.extract("month", Member.birthday), sa.extract("day", Member.birthday)
    return sa.or_(*(sa.and_(month == m, day == d) for m, d in days))


def due_list(staff: Staff, *, today: date | None = None) -> DueList:
    today = today or utcnow().astimezone(SHANGHAI).date()
    days = int(current_app.config.get("CARE_DUE_DAYS", 7))
    follow_up = int(current_app.config.get("CARE_FOLLOW_UP_DAYS", 3))
    birthdays = db.session.scalars(
        sa.select(Member)
        .where(
            staff.scope_filter(Member.group_id),
            Member.status == MemberStatus.active,
            Member.birthday.is_not(None),
            birthday_clause(upcoming(today, days)),
        )
        .order_by(Member.id)
        .limit(LIMIT)
    ).all()
    queue = request_queue(staff)
    retirements = db.session.scalars(
        queue.where(
            CareRequest.category == CareCategory.retirement,
            CareRequest.occurred_on.between(today, today + timedelta(days)),
        ).limit(LIMIT)
    ).all()
    cutoff = utcnow() - timedelta(days=follow_up)
    stale = db.session.scalars(
        queue.where(
            CareRequest.category == CareCategory.hospitalization,
            CareRequest.status == RequestStatus.submitted,
            CareRequest.created_at < cutoff,
        ).limit(LIMIT)
    ).all()
    return DueList(days, follow_up, list(birthdays), list(retirements), count_rows(queue), list(stale))
