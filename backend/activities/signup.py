"""A member's sign-up: register, change, cancel, and the waitlist's promotions (writes, no commit).

Every write that reads the seats or the waitlist first locks the activity row (`lock_activity`:
``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite every transaction is ``BEGIN IMMEDIATE``, see
backend/__init__.py), so the capacity check, the waitlist position and the counter update happen one
request at a time per activity: no oversell, no gap, no repeat, under any concurrency.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backend.activities import messages
from backend.activities.errors import (
    ActivityCancelled,
    ActivityFull,
    CancelDeadlinePassed,
    NotInAudience,
    RegistrationClosed,
    RegistrationNotOpen,
)
from backend.activities.fields import check_companions, clean_answers
from backend.activities.models import (
    Activity,
    ActivityStatus,
    Allocation,
    Registration,
    RegistrationStatus,
)
from backend.activities.queries import activity_for_member, live_registration, member_reaches, visible_to
from backend.db import utcnow
from backend.errors import NotFound
from backend.extensions import db
from backend.members.models import Member

S = RegistrationStatus


def lock_activity(activity_id: int) -> Activity | None:
    """The activity row, locked until the transaction ends (fresh values, not the session's cache)."""
    return db.session.scalar(
        sa.select(Activity)
        .where(Activity.id == activity_id)
        .with_for_update(of=Activity)
        .execution_options(populate_existing=True)
    )


def _locked_for_member(activity_id: int, member: Member) -> Activity:
    activity = lock_activity(activity_id)
    if (
        activity is None
        or db.session.scalar(sa.select(Activity.id).where(Activity.id == activity_id, visible_to(member)))
        is None
    ):
        raise NotFound()
    return activity


def _check_open(activity: Activity, now: datetime) -> None:
    if activity.status == ActivityStatus.cancelled:
        raise ActivityCancelled()
    if activity.status != ActivityStatus.published or now < activity.registration_opens_at:
        raise RegistrationNotOpen()
    if now >= activity.registration_closes_at:
        raise RegistrationClosed()


def waitlist_length(activity: Activity) -> int:
    """Positions are 1…n without a gap, so the highest is the length (one probe of the waitlist index)."""
    highest = sa.func.max(Registration.waitlist_position)
    query = sa.select(highest).where(
        Registration.activity_id == activity.id, Registration.waitlist_position.is_not(None)
    )
    return db.session.scalar(query) or 0


def place(activity: Activity, registration: Registration) -> None:
    """Seat a new (or re-placed) first-come registration, or waitlist it, or refuse: activity_full."""
    if activity.fits(registration.seats):
        registration.status = S.registered
        activity.seats_taken += registration.seats
    elif activity.waitlist_enabled:
        registration.status = S.waitlisted
        registration.waitlist_position = waitlist_length(activity) + 1
    else:
        raise ActivityFull()


def register(
    activity_id: int,
    member: Member,
    *,
    answers: dict[str, Any] | None,
    companions: int = 0,
    now: datetime | None = None,
) -> tuple[Registration, bool]:
    """The member's registration and whether it is new (201) or the one they already hold (200).

    The checks that need no seat count run first, without the lock (a repeated tap answers at once);
    the lock is held only for what decides the seat, re-read from fresh values: the member's
    registration (a tap that got there first), the state, the seats, the waitlist, the insert."""
    now = now or utcnow()
    activity = activity_for_member(activity_id, member)
    existing = live_registration(activity.id, member.id)
    if existing is not None:
        return existing, False
    if not member_reaches(activity, member):
        raise NotInAudience()
    _check_open(activity, now)
    check_companions(companions, activity.max_companions)
    cleaned = clean_answers(activity.form_fields, answers)
    activity = lock_activity(activity_id) or activity
    existing = live_registration(activity.id, member.id)
    if existing is not None:
        return existing, False
    _check_open(activity, now)
    registration = Registration(
        activity_id=activity.id,
        member_id=member.id,
        group_id=member.group_id,
        companions=companions,
        answers=cleaned,
        created_at=now,
    )
    if activity.allocation == Allocation.lottery:
        registration.status = S.applied
    else:
        place(activity, registration)
    db.session.add(registration)
    db.session.flush()
    return registration, True


def change(
    activity_id: int,
    member: Member,
    *,
    answers: dict[str, Any] | None = None,
    companions: int | None = None,
    now: datetime | None = None,
) -> Registration:
    """New answers or a new number of companions, before registration closes."""
    now = now or utcnow()
    activity = _locked_for_member(activity_id, member)
    registration = live_registration(activity.id, member.id)
    if registration is None or registration.status not in (S.registered, S.waitlisted, S.applied):
        raise NotFound()
    _check_open(activity, now)
    if answers is not None:
        registration.answers = clean_answers(activity.form_fields, answers)
    if companions is not None and companions != registration.companions:
        check_companions(companions, activity.max_companions)
        delta = companions - registration.companions
        if registration.status == S.registered:
            if delta > 0 and not activity.fits(delta):
                raise ActivityFull(f"名额不足：目前只剩 {activity.free_seats()} 个名额")
            activity.seats_taken += delta
        registration.companions = companions
        if delta < 0 and registration.status == S.registered:
            promote(activity, now=now)
    db.session.flush()
    return registration


def leave_waitlist(activity: Activity, registration: Registration) -> None:
    """Take a waitlisted registration off the list; everyone behind moves up one (gapless)."""
    position = registration.waitlist_position
    registration.waitlist_position = None
    db.session.flush()
    db.session.execute(
        sa.update(Registration)
        .where(
            Registration.activity_id == activity.id,
            Registration.status == S.waitlisted,
            Registration.waitlist_position > position,
        )
        .values(waitlist_position=Registration.waitlist_position - 1)
        .execution_options(synchronize_session="fetch")
    )


def withdraw(activity: Activity, registration: Registration, *, now: datetime) -> None:
    """Cancel a registration, leave the waitlist, or withdraw from the lottery; frees seats if any."""
    status = registration.status
    registration.cancelled_at = now
    if status == S.waitlisted:
        registration.status = S.cancelled
        leave_waitlist(activity, registration)
        return
    registration.status = S.cancelled
    if status in (S.registered, S.attended):
        activity.seats_taken -= registration.seats
        db.session.flush()
        promote(activity, now=now)


def cancel(activity_id: int, member: Member, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    activity = _locked_for_member(activity_id, member)
    registration = live_registration(activity.id, member.id)
    if registration is None or registration.status not in (S.registered, S.waitlisted, S.applied):
        raise NotFound()
    if registration.status == S.registered and now >= activity.effective_cancel_deadline:
        raise CancelDeadlinePassed()
    withdraw(activity, registration, now=now)
    db.session.flush()


def promote(activity: Activity, *, now: datetime) -> list[Registration]:
    """Fill free seats from the waitlist (activity locked by the caller): in position order, each
    waitlisted party that fits takes its seats; one that does not fit keeps its place at the head and
    waits for more seats (README). Positions are renumbered 1…n; each promoted member is told."""
    if activity.status != ActivityStatus.published or now >= activity.starts_at:
        return []
    waiting = db.session.scalars(
        sa.select(Registration)
        .where(Registration.activity_id == activity.id, Registration.status == S.waitlisted)
        .order_by(Registration.waitlist_position)
    ).all()
    promoted: list[Registration] = []
    for registration in waiting:
        if activity.capacity is not None and activity.seats_taken >= activity.capacity:
            break
        if activity.fits(registration.seats):
            registration.status = S.registered
            registration.waitlist_position = None
            activity.seats_taken += registration.seats
            promoted.append(registration)
    if promoted:
        db.session.flush()  # positions of the promoted are released before the others move up
        remaining = [r for r in waiting if r.status == S.waitlisted]
        for position, registration in enumerate(remaining, start=1):
            registration.waitlist_position = position
        db.session.flush()
        for registration in promoted:
            messages.promoted(registration)
    return promoted
