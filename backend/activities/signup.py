"""A member's sign-up: register, change, cancel, and the waitlist's promotions (writes, no commit).

Every write that decides a seat or a waitlist position holds the activity row lock, so no oversell,
no gap, no repeat, under any concurrency. A first-come sign-up keeps that lock as short as it can: all
checks and the answers come first, without it; then one atomic conditional UPDATE takes the seats
(`take_seats`: ``seats_taken + n <= capacity`` in the WHERE), which locks the row until the commit, and
the registration's INSERT follows, the last statement before the commit. Only when that UPDATE finds no
seat does the request take the lock explicitly (`lock_seat_state`: ``SELECT … FOR NO KEY UPDATE`` of
the seat columns) to re-check and waitlist, the INSERT reading the next position itself. On SQLite every
transaction is ``BEGIN IMMEDIATE`` (backend/__init__.py): one writer at a time.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

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
    LIVE,
    Activity,
    ActivityStatus,
    Allocation,
    Registration,
    RegistrationStatus,
)
from backend.activities.queries import (
    activity_with_live_registration,
    live_registration,
    member_reaches,
    visible_to,
)
from backend.db import utcnow
from backend.errors import Conflict, NotFound
from backend.extensions import db
from backend.members.models import Member

COLUMNS = [column for column in Registration.__table__.columns if column.key != "id"]
LIVE_INDEX = f"status IN {LIVE}"

S = RegistrationStatus


def lock_activity(activity_id: int) -> Activity | None:
    """The activity row, locked until the transaction ends (fresh values, not the session's cache).

    ``FOR NO KEY UPDATE``: the lock an UPDATE of the row takes (so it queues with `take_seats`), but not
    one that waits for the key-share locks a registration's INSERT takes on its activity (foreign key):
    a sign-up inserts before it locks, and two of them must not wait for each other (a deadlock)."""
    return db.session.scalar(
        sa.select(Activity)
        .where(Activity.id == activity_id)
        .with_for_update(of=Activity, key_share=True)
        .execution_options(populate_existing=True)
    )


# What a seat decision reads, locked like `lock_activity` but read narrow, by one statement built once:
# the sign-up rush spends this read holding the lock, so it loads no whole row into a fresh object.
_SEAT_STATE = (
    Activity.status,
    Activity.registration_opens_at,
    Activity.registration_closes_at,
    Activity.capacity,
    Activity.seats_taken,
    Activity.waitlist_enabled,
    Activity.drawn_at,
)
_LOCK_SEAT_STATE = (
    sa.select(*_SEAT_STATE)
    .where(Activity.id == sa.bindparam("activity_id"))
    .with_for_update(of=Activity, key_share=True)
)


def lock_seat_state(activity: Activity) -> None:
    """`lock_activity` for the sign-up: the row locked until the transaction ends, and the activity's
    seat state (status, window, capacity, seats taken, waitlist, draw) refreshed from it."""
    row = db.session.execute(_LOCK_SEAT_STATE, {"activity_id": activity.id}).one()
    for column, value in zip(_SEAT_STATE, row, strict=True):
        set_committed_value(activity, column.key, value)


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


def place(activity: Activity, registration: Registration, *, position_by_insert: bool = False) -> None:
    """Seat a new (or re-placed) first-come registration, or waitlist it, or refuse: activity_full
    (activity locked by the caller). `position_by_insert`: the sign-up's `_insert` gives the waitlist
    position in its own statement, so none is read here."""
    if activity.fits(registration.seats):
        registration.status = S.registered
        activity.seats_taken += registration.seats
    elif activity.waitlist_enabled and position_by_insert:
        registration.status = S.waitlisted
    elif activity.waitlist_enabled:
        position = waitlist_length(activity) + 1  # (its query flushes: the position goes with the status)
        registration.status, registration.waitlist_position = S.waitlisted, position
    else:
        raise ActivityFull()


def take_seats(activity: Activity, seats: int, now: datetime) -> bool:
    """Atomically adds `seats` to the activity's seats taken if they fit and registration is open (one
    conditional UPDATE; the row stays locked until the commit). False: no seat at that moment, or the
    activity changed (cancelled, closed); the caller then decides under `lock_activity`."""
    result = db.session.execute(
        sa.update(Activity)
        .where(
            Activity.id == activity.id,
            Activity.status == ActivityStatus.published,
            Activity.registration_opens_at <= now,
            Activity.registration_closes_at > now,
            sa.or_(Activity.capacity.is_(None), Activity.seats_taken + seats <= Activity.capacity),
        )
        .values(seats_taken=Activity.seats_taken + seats)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


# The waitlist's next position, read by the INSERT itself (`next_position`): under READ COMMITTED the
# INSERT's snapshot starts after the activity lock was granted, so it sees every position committed
# before: the answer a separate `waitlist_length` query gives, one round trip less while the lock is held.
_NEXT_POSITION = (
    f"(SELECT coalesce(max(waitlist_position), 0) + 1 FROM {Registration.__tablename__}"
    " WHERE activity_id = :v_activity_id AND waitlist_position IS NOT NULL)"
)


@functools.cache
def _insert_statement(*, next_position: bool) -> sa.TextualSelect:
    """INSERT … ON CONFLICT DO NOTHING on the one-live-registration index, RETURNING the id and the
    position; the same SQL on PostgreSQL and SQLite. Written as text, built once: SQLAlchemy never caches
    the compiled form of its ON CONFLICT constructs (their `Insert` classes opt out of the statement
    cache), so the sign-up rush would compile one on every request. The parameters (`v_<column>`) carry
    their columns' types, so each column's own conversion applies (UTC times, the status, the answers)."""
    names = [column.name for column in COLUMNS]
    values = [
        _NEXT_POSITION if next_position and name == "waitlist_position" else f":v_{name}" for name in names
    ]
    sql = (
        f"INSERT INTO {Registration.__tablename__} ({', '.join(names)}) VALUES ({', '.join(values)})"
        f" ON CONFLICT (activity_id, member_id) WHERE {LIVE_INDEX} DO NOTHING RETURNING id, waitlist_position"
    )
    table = Registration.__table__
    typed = [sa.bindparam(f"v_{c.name}", type_=c.type) for c in COLUMNS if f":v_{c.name}" in values]
    return sa.text(sql).bindparams(*typed).columns(table.c.id, table.c.waitlist_position)


def _insert(registration: Registration) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on the one-live-registration index, as one Core statement (the
    last before the commit: no unit-of-work flush under the lock). A waitlisted registration without a
    position takes the next one in the same statement. True once inserted (the object then belongs to
    the session, every column set); False when the member's live one exists (a tap of theirs committed
    since this request looked)."""
    next_position = registration.status == S.waitlisted and registration.waitlist_position is None
    values = {f"v_{column.name}": getattr(registration, column.key) for column in COLUMNS}
    if next_position:
        del values["v_waitlist_position"]
    row = db.session.execute(_insert_statement(next_position=next_position), values).first()
    if row is None:
        return False
    registration.id, registration.waitlist_position = row
    make_transient_to_detached(registration)
    db.session.add(registration)
    return True


def register(
    activity_id: int,
    member: Member,
    *,
    answers: dict[str, Any] | None,
    companions: int = 0,
    now: datetime | None = None,
) -> tuple[Registration, bool]:
    """The member's registration and whether it is new (201) or the one they already hold (200).

    Everything that needs no seat count runs first, without the lock: the scope, a repeated tap, the
    audience, the window, the companions, the answers. Then, first come: `take_seats` when the seats
    looked free (it locks the row when it takes them), or else the lock and a seat freed meanwhile or
    the next waitlist position; and the INSERT, the last statement before the commit. A tap of the same
    member that got there first is answered instead (the INSERT finds its row; seats taken go back).
    A lottery application takes no seat: it only re-checks, under the lock, that registration is open
    and the draw has not run."""
    now = now or utcnow()
    activity, existing = activity_with_live_registration(activity_id, member)
    if existing is not None:
        return existing, False
    if not member_reaches(activity, member):
        raise NotInAudience()
    _check_open(activity, now)
    check_companions(companions, activity.max_companions)
    registration = Registration(
        id=None,
        activity_id=activity.id,
        member_id=member.id,
        group_id=member.group_id,
        status=S.registered,
        waitlist_position=None,
        companions=companions,
        answers=clean_answers(activity.form_fields, answers),
        added_by_id=None,
        created_at=now,
        updated_at=now,
        checked_in_at=None,
        cancelled_at=None,
        reminded_at=None,
    )
    lottery = activity.allocation == Allocation.lottery
    # The seats read at the start are only a hint: a full activity goes straight to the lock.
    if lottery or not activity.fits(registration.seats) or not take_seats(activity, registration.seats, now):
        lock_seat_state(activity)
        _check_open(activity, now)
        if lottery and activity.drawn_at is not None:
            raise RegistrationClosed()
        if lottery:
            registration.status = S.applied
        else:
            place(activity, registration, position_by_insert=True)
            db.session.flush()  # the seats taken, if a seat was freed since
    if not _insert(registration):
        if registration.status == S.registered:
            _give_back(activity.id, registration.seats)
        existing = live_registration(activity.id, member.id)
        if existing is None:  # theirs was cancelled in between
            raise Conflict("报名的人较多，请稍后再试")
        return existing, False
    return registration, True


def _give_back(activity_id: int, seats: int) -> None:
    db.session.execute(
        sa.update(Activity)
        .where(Activity.id == activity_id)
        .values(seats_taken=Activity.seats_taken - seats)
        .execution_options(synchronize_session=False)
    )


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
