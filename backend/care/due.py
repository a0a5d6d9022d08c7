"""The due list (the admin dashboard): birthdays and retirements in the coming days, open requests, and
members in hospital whom nobody has followed up within CARE_FOLLOW_UP_DAYS days.

Retirements come from two places: the roster's 退休日期 (`Member.retires_on`, optional) and members'
retirement requests. A birthday on 29 February falls on the 28th in other years, for the due list and the
greeting alike (`birthdays_on`, the one rule)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app

from backend.care.models import CareCategory, CareRequest, RequestStatus
from backend.care.queries import request_queue
from backend.db import count_rows, utcnow
from backend.db import today as local_today
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
    retiring: list[Member]  # the roster's 退休日期 in the coming days

    @property
    def empty(self) -> bool:
        return not (
            self.birthdays or self.retirements or self.open_requests or self.not_followed_up or self.retiring
        )


def birthdays_on(day: date) -> list[tuple[int, int]]:
    """The (month, day) of the birthdays that fall on `day`: 29 February's on the 28th in other years."""
    days = [(day.month, day.day)]
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        days.append((2, 29))
    return days


def birthdays_within(first: date, days: int) -> list[tuple[int, int]]:
    """The (month, day) of the birthdays falling from `first` for `days` days."""
    return [pair for n in range(days + 1) for pair in birthdays_on(first + timedelta(n))]


def birthday_clause(days: list[tuple[int, int]]) -> sa.ColumnElement[bool]:
    month, day = sa.extract("month", Member.birthday), sa.extract("day", Member.birthday)
    return sa.or_(*(sa.and_(month == m, day == d) for m, d in days))


def _members(staff: Staff, *clauses: sa.ColumnElement[bool]) -> list[Member]:
    query = (
        sa.select(Member)
        .where(staff.scope_filter(Member.group_id), Member.status == MemberStatus.active, *clauses)
        .order_by(Member.id)
        .limit(LIMIT)
    )
    return list(db.session.scalars(query))


def due_list(staff: Staff, *, today: date | None = None) -> DueList:
    today = today or local_today()
    days = int(current_app.config.get("CARE_DUE_DAYS", 7))
    follow_up = int(current_app.config.get("CARE_FOLLOW_UP_DAYS", 3))
    birthdays = _members(staff, Member.birthday.is_not(None), birthday_clause(birthdays_within(today, days)))
    retiring = _members(staff, Member.retires_on.between(today, today + timedelta(days)))
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
    return DueList(
        days, follow_up, birthdays, list(retirements), count_rows(queue), list(stale), retiring=retiring
    )
