"""The lottery: drawn once when registration closes, by a periodic job, however many run at once.

seed = hex SHA-256 of ``"<activity id>:<registration close time, ISO 8601 in +08:00>:<comma-joined
sorted registration ids>"``; each applicant's rank is hex SHA-256 of ``"<seed>:<registration id>"``,
ascending. In that order each applicant whose party still fits takes its seats; the rest are waitlisted
in that order (or not_selected without a waitlist). Anyone can re-run it from the published seed
(README shows how).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa

from backend.activities import messages
from backend.activities.models import Activity, ActivityStatus, Allocation, Registration, RegistrationStatus
from backend.activities.signup import lock_activity, waitlist_length
from backend.db import to_local, utcnow
from backend.extensions import db

S = RegistrationStatus


def draw_seed(activity_id: int, closes_at: datetime, registration_ids: list[int]) -> str:
    closes = to_local(closes_at)
    assert closes is not None
    text = f"{activity_id}:{closes.isoformat()}:{','.join(str(i) for i in sorted(registration_ids))}"
    return hashlib.sha256(text.encode()).hexdigest()


def draw_order(seed: str, registration_ids: list[int]) -> list[int]:
    return sorted(registration_ids, key=lambda rid: hashlib.sha256(f"{seed}:{rid}".encode()).hexdigest())


def due_draws(now: datetime) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(Activity.id).where(
                Activity.allocation == Allocation.lottery,
                Activity.status == ActivityStatus.published,
                Activity.drawn_at.is_(None),
                Activity.registration_closes_at <= now,
            )
        )
    )


def draw(activity_id: int, *, now: datetime | None = None) -> bool:
    """Draws the activity's lottery unless it was drawn already (checked under the row lock, so of
    several jobs started at once exactly one draws). True when this call drew."""
    now = now or utcnow()
    activity = lock_activity(activity_id)
    if (
        activity is None
        or activity.allocation != Allocation.lottery
        or activity.status != ActivityStatus.published
        or activity.drawn_at is not None
        or now < activity.registration_closes_at
    ):
        return False
    applicants = {
        r.id: r
        for r in db.session.scalars(
            sa.select(Registration).where(
                Registration.activity_id == activity.id, Registration.status == S.applied
            )
        )
    }
    seed = draw_seed(activity.id, activity.registration_closes_at, list(applicants))
    winners = 0
    position = waitlist_length(activity)  # after anyone staff put on the waitlist by hand (代报名)
    for rid in draw_order(seed, list(applicants)):
        registration = applicants[rid]
        if activity.fits(registration.seats):
            registration.status = S.registered
            activity.seats_taken += registration.seats
            winners += 1
        elif activity.waitlist_enabled:
            position += 1
            registration.status, registration.waitlist_position = S.waitlisted, position
        else:
            registration.status = S.not_selected
    activity.draw_seed, activity.drawn_at = seed, now
    activity.draw_applicants, activity.draw_winners = len(applicants), winners
    db.session.flush()
    for registration in applicants.values():
        _tell_outcome(registration)
    return True


OUTCOMES = {
    S.registered: ("中签：{title}", "恭喜您中签，报名成功。活动时间 {when}，地点 {location}。"),
    S.waitlisted: (
        "未中签（候补第 {position} 位）：{title}",
        "本次抽签未中，您在候补第 {position} 位，有名额空出时会通知您。",
    ),
    S.not_selected: ("未中签：{title}", "很遗憾，本次抽签未中。感谢您的参与。"),
}


def _tell_outcome(registration: Registration) -> None:
    activity = registration.activity
    title, body = OUTCOMES[registration.status]
    values = {
        "title": activity.title,
        "when": messages.when(activity),
        "location": activity.location,
        "position": registration.waitlist_position,
    }
    messages.tell(registration, event="draw", title=title.format(**values), body=body.format(**values))
