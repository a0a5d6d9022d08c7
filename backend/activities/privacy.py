"""A member's registrations in `/me/export`, and what `DELETE /me` does to them (README: retention).

A past activity's sign-in sheet is a financial record (the higher union reimburses against it): the
registrations of activities that have ended stay, anonymised (no member, no answers; the group, the
times and the number of companions kept). Those of activities still to come are withdrawn (a seat freed
goes to the waitlist as usual) and deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backend.activities.models import Activity, Registration, RegistrationStatus
from backend.activities.signup import lock_activity, withdraw
from backend.db import to_local, utcnow
from backend.extensions import db
from backend.members.models import Member

S = RegistrationStatus


def _time(value: datetime | None) -> str | None:
    local = to_local(value)
    return local.isoformat() if local else None


def export_registrations(member: Member) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(Registration, Activity.title)
        .join(Activity, Activity.id == Registration.activity_id)
        .where(Registration.member_id == member.id)
        .order_by(Registration.id)
    ).all()
    return [
        {
            "activity_id": r.activity_id,
            "activity": title,
            "status": r.status.value,
            "waitlist_position": r.waitlist_position,
            "companions": r.companions,
            "answers": r.answers,
            "created_at": _time(r.created_at),
            "checked_in_at": _time(r.checked_in_at),
            "cancelled_at": _time(r.cancelled_at),
        }
        for r, title in rows
    ]


def forget_registrations(member: Member, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    rows = db.session.execute(
        sa.select(Registration.id, Registration.activity_id, Activity.ends_at)
        .join(Activity, Activity.id == Registration.activity_id)
        .where(Registration.member_id == member.id)
        .order_by(Registration.activity_id)
    ).all()
    for registration_id, activity_id, ends_at in rows:
        if ends_at <= now:
            continue
        activity = lock_activity(activity_id)
        registration = db.session.get(Registration, registration_id, populate_existing=True)
        if activity is not None and registration is not None:
            if registration.status in (S.registered, S.waitlisted, S.applied):
                withdraw(activity, registration, now=now)
            db.session.delete(registration)
    db.session.flush()
    db.session.execute(
        sa.update(Registration)
        .where(Registration.member_id == member.id)
        .values(member_id=None, answers={})
        .execution_options(synchronize_session=False)
    )
