"""The activities' periodic work: lottery draws at registration close, reminders before the start.

Each is safe with any number of workers and beat processes at once: a draw re-checks `drawn_at` under
the activity's row lock; a reminder's ledger row has the dedupe key ``activity:<id>:reminder:<member>``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from backend.activities import messages
from backend.activities.draw import draw, due_draws
from backend.activities.models import Activity, ActivityStatus, Registration, RegistrationStatus
from backend.db import utcnow
from backend.extensions import db


def run_due_draws(unit: Callable[[], Any], now: datetime | None = None) -> int:
    """Draws each due lottery in its own transaction (`unit` is the caller's unit_of_work)."""
    now = now or utcnow()
    with unit():
        due = due_draws(now)
    drawn = 0
    for activity_id in due:
        with unit():
            drawn += draw(activity_id, now=now)
    return drawn


def remind_due(now: datetime | None = None) -> int:
    """One reminder per registered member of each activity starting within ACTIVITY_REMINDER_HOURS."""
    now = now or utcnow()
    hours = float(current_app.config.get("ACTIVITY_REMINDER_HOURS") or 24)
    activities = db.session.scalars(
        sa.select(Activity).where(
            Activity.status == ActivityStatus.published,
            Activity.starts_at > now,
            Activity.starts_at <= now + timedelta(hours=hours),
        )
    ).all()
    sent = 0
    for activity in activities:
        pending = db.session.execute(
            sa.select(Registration.id, Registration.member_id).where(
                Registration.activity_id == activity.id,
                Registration.status == RegistrationStatus.registered,
                Registration.reminded_at.is_(None),
                Registration.member_id.is_not(None),
            )
        ).all()
        if not pending:
            continue
        sent += messages.tell_many(
            activity,
            [member_id for _, member_id in pending],
            event="reminder",
            title=f"活动提醒：{activity.title}",
            body=f"您报名的活动将于 {messages.when(activity)} 开始，地点 {activity.location}。",
        )
        db.session.execute(
            sa.update(Registration)
            .where(Registration.id.in_([rid for rid, _ in pending]))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
    return sent
