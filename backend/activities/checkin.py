"""Check-in: the poster's signed token, and a member (or staff) marking attendance.

The token is the ``scene`` of the activity's mini-program code: ``"a<id>-<20 hex of HMAC-SHA256>"``
with SECRET_KEY over ``activity-checkin:<id>``: at most 32 characters, all in WeChat's allowed set
(letters, digits, ``-``), bound to one activity; nobody prints a valid code without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from backend.activities.errors import CheckinNotOpen, InvalidCheckinToken, NotRegistered
from backend.activities.models import Activity, ActivityStatus, Registration, RegistrationStatus
from backend.activities.queries import activity_for_member, can_manage
from backend.activities.signup import lock_activity
from backend.audit.operations import record
from backend.db import utcnow
from backend.errors import InvalidState, NotFound
from backend.extensions import db
from backend.members.models import Member
from backend.staff.models import Staff

TOKEN = re.compile(r"^a([1-9][0-9]{0,9})-([0-9a-f]{20})$")


def _signature(activity_id: int) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"activity-checkin:{activity_id}".encode(), hashlib.sha256).hexdigest()[:20]


def checkin_token(activity: Activity) -> str:
    return f"a{activity.id}-{_signature(activity.id)}"


def token_matches(token: str, activity_id: int) -> bool:
    match = TOKEN.match(token or "")
    return bool(
        match
        and int(match.group(1)) == activity_id
        and hmac.compare_digest(match.group(2), _signature(activity_id))
    )


def checkin_window(activity: Activity) -> tuple[datetime, datetime]:
    before = float(current_app.config.get("ACTIVITY_CHECKIN_OPENS_MINUTES") or 60)
    return activity.starts_at - timedelta(minutes=before), activity.ends_at


def check_in(activity_id: int, member: Member, token: str, *, now: datetime | None = None) -> Registration:
    """Scanned at the venue: the registration as attended; a second scan answers it unchanged."""
    now = now or utcnow()
    activity = activity_for_member(activity_id, member)
    if not token_matches(token, activity.id):
        raise InvalidCheckinToken()
    registration = db.session.scalar(
        sa.select(Registration)
        .where(
            Registration.activity_id == activity.id,
            Registration.member_id == member.id,
            Registration.status.in_([RegistrationStatus.registered, RegistrationStatus.attended]),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if registration is None:
        raise NotRegistered()
    if registration.status == RegistrationStatus.attended:
        return registration
    opens, closes = checkin_window(activity)
    if activity.status != ActivityStatus.published or not opens <= now <= closes:
        raise CheckinNotOpen()
    registration.status = RegistrationStatus.attended
    registration.checked_in_at = now
    db.session.flush()
    return registration


def staff_check_in(registration: Registration, *, staff: Staff, now: datetime | None = None) -> Registration:
    """签到 by hand (a member without a phone, a failed scan): any time, for a registered member of a
    published activity; under the activity's row lock (like removing a registration or marking the
    no-shows) and the registration's, re-read fresh. Audited."""
    activity = registration.activity
    if not can_manage(activity, staff):
        raise NotFound()
    activity = lock_activity(activity.id) or activity
    registration = (
        db.session.scalar(
            sa.select(Registration)
            .where(Registration.id == registration.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        or registration
    )
    if activity.status == ActivityStatus.cancelled:
        raise InvalidState("活动已取消，不能签到")
    if activity.status != ActivityStatus.published:
        raise InvalidState("活动尚未发布，不能签到")
    if registration.status != RegistrationStatus.registered:
        raise InvalidState("只有已报名的会员可以签到")
    registration.status = RegistrationStatus.attended
    registration.checked_in_at = now or utcnow()
    db.session.flush()
    record("activity.checkin", staff=staff, target=activity, id=registration.id)
    return registration
