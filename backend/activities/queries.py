"""Read side: which activities a member sees (with their own registration), and what staff manage."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased, selectinload

from backend.activities.models import (
    LIVE,
    Activity,
    ActivityCategory,
    ActivityStatus,
    Registration,
    RegistrationStatus,
    activity_groups,
)
from backend.db import utcnow
from backend.errors import NotFound
from backend.extensions import db
from backend.members.models import Group, Member, MemberStatus, normalize_employee_no
from backend.members.queries import group_ids_in_path
from backend.staff.models import Staff
from backend.staff.permissions import Permission

SHOWN = (ActivityStatus.published, ActivityStatus.cancelled)
SCOPES = ("open", "upcoming", "past", "mine")


def in_audience(member: Member) -> sa.ColumnElement[bool]:
    """Whole union, or a chosen group that is the member's group or above it."""
    return sa.or_(
        Activity.whole_union.is_(True),
        sa.exists().where(
            activity_groups.c.activity_id == Activity.id,
            activity_groups.c.group_id.in_(group_ids_in_path(member.group)),
        ),
    )


def member_reaches(activity: Activity, member: Member) -> bool:
    return activity.whole_union or any(group.contains(member.group) for group in activity.groups)


def _latest_registration(member_id: int) -> sa.ColumnElement[bool]:
    """The member's latest registration for the activity: the live one if any (a member signs up again
    only after the earlier one ended, so a live registration is always the newest), else the last."""
    earlier = aliased(Registration)
    latest = (
        sa.select(sa.func.max(earlier.id))
        .where(earlier.activity_id == Activity.id, earlier.member_id == member_id)
        .scalar_subquery()
    )
    return sa.and_(Registration.activity_id == Activity.id, Registration.id == latest)


def visible_to(member: Member | None) -> sa.ColumnElement[bool]:
    """Published or cancelled, and for the member's audience, or one they hold a registration for (any
    status: signed up, then moved to another group by a 转会, or cancelled): they still see it and their
    registration, but may not sign up again (403 not_in_audience). Nothing for a caller without a member
    record; a pending member browses too (API.md)."""
    if member is None or member.status == MemberStatus.left:
        return sa.false()
    theirs = aliased(Registration)
    return sa.and_(
        Activity.status.in_(SHOWN),
        sa.or_(
            in_audience(member),
            sa.exists().where(theirs.activity_id == Activity.id, theirs.member_id == member.id),
        ),
    )


def member_activities(
    member: Member | None,
    *,
    scope: str | None,
    category: ActivityCategory | None,
    now: datetime | None = None,
) -> sa.Select[tuple[Activity, Registration | None]]:
    """The activities the member sees with their latest registration (or None): one query, any page size."""
    now = now or utcnow()
    member_id = member.id if member is not None else -1
    query = (
        sa.select(Activity, Registration)
        .outerjoin(Registration, _latest_registration(member_id))
        .where(visible_to(member))
    )
    if category is not None:
        query = query.where(Activity.category == category)
    if scope == "open":
        query = query.where(
            Activity.status == ActivityStatus.published,
            Activity.registration_opens_at <= now,
            Activity.registration_closes_at > now,
        ).order_by(Activity.registration_closes_at, Activity.id)
    elif scope == "upcoming":
        query = query.where(Activity.status == ActivityStatus.published, Activity.ends_at > now)
        query = query.order_by(Activity.starts_at, Activity.id)
    elif scope == "past":
        query = query.where(Activity.ends_at <= now).order_by(Activity.starts_at.desc(), Activity.id.desc())
    elif scope == "mine":
        query = query.where(Registration.status.in_(LIVE)).order_by(
            Activity.starts_at.desc(), Activity.id.desc()
        )
    else:
        query = query.order_by(Activity.starts_at.desc(), Activity.id.desc())
    return query


def waitlist_counts(activity_ids: list[int]) -> dict[int, int]:
    if not activity_ids:
        return {}
    rows = db.session.execute(
        sa.select(Registration.activity_id, sa.func.count())
        .where(
            Registration.activity_id.in_(activity_ids), Registration.status == RegistrationStatus.waitlisted
        )
        .group_by(Registration.activity_id)
    )
    return dict(rows.tuples().all())


def activity_for_member(activity_id: int, member: Member | None) -> Activity:
    """One activity the member sees (`visible_to`'s rule, 404 otherwise), read by primary key and judged
    in Python: one short query instead of the list's filter, on the path every sign-up takes. A test
    holds the two forms of the rule to the same answers."""
    activity = db.session.get(Activity, activity_id)
    if activity is None or not _sees(activity, member):
        raise NotFound()
    return activity


def _sees(activity: Activity, member: Member | None) -> bool:
    if member is None or member.status == MemberStatus.left or activity.status not in SHOWN:
        return False
    if member_reaches(activity, member):
        return True
    held = sa.exists().where(Registration.activity_id == activity.id, Registration.member_id == member.id)
    return bool(db.session.scalar(sa.select(held)))


# The sign-up's first read, built once (a statement object keeps its cache key: the rush runs it
# thousands of times). The outer join finds the member's live registration, if any, with the activity.
_WITH_LIVE = (
    sa.select(Activity, Registration)
    .outerjoin(
        Registration,
        sa.and_(
            Registration.activity_id == Activity.id,
            Registration.member_id == sa.bindparam("member_id"),
            Registration.status.in_(LIVE),
        ),
    )
    .where(Activity.id == sa.bindparam("activity_id"))
)


def activity_with_live_registration(activity_id: int, member: Member) -> tuple[Activity, Registration | None]:
    """`activity_for_member` and `live_registration` in one query: the activity the member sees (404
    otherwise) and their live registration for it, or None."""
    row = db.session.execute(_WITH_LIVE, {"activity_id": activity_id, "member_id": member.id}).first()
    if row is None or not _sees(row[0], member):
        raise NotFound()
    return row[0], row[1]


def latest_registration(activity_id: int, member_id: int) -> Registration | None:
    """The live registration, or the member's last one (cancelled, not selected …), or None."""
    return db.session.scalar(
        sa.select(Registration)
        .where(Registration.activity_id == activity_id, Registration.member_id == member_id)
        .order_by(Registration.id.desc())
        .limit(1)
    )


def live_registration(activity_id: int, member_id: int) -> Registration | None:
    return db.session.scalar(
        sa.select(Registration).where(
            Registration.activity_id == activity_id,
            Registration.member_id == member_id,
            Registration.status.in_(LIVE),
        )
    )


# --- staff ---------------------------------------------------------------------------------------


def can_manage(activity: Activity, staff: Staff) -> bool:
    """Staff manage an activity whose whole audience lies within their scope (like announcements)."""
    if not staff.can(Permission.manage_activities):
        return False
    if staff.holds_whole_union:
        return True
    if activity.whole_union or not activity.groups:
        return False
    return all(staff.in_scope(group) for group in activity.groups)


def manageable_by(staff: Staff) -> sa.ColumnElement[bool]:
    """SQL twin of `can_manage`."""
    if not staff.can(Permission.manage_activities):
        return sa.false()
    if staff.holds_whole_union:
        return sa.true()
    outside = (
        sa.select(activity_groups.c.group_id)
        .join(Group, Group.id == activity_groups.c.group_id)
        .where(activity_groups.c.activity_id == Activity.id, sa.not_(Group.path.startswith(staff.scope.path)))
    )
    return sa.and_(
        Activity.whole_union.is_(False),
        sa.exists().where(activity_groups.c.activity_id == Activity.id),
        ~sa.exists(outside),
    )


def staff_activities(
    staff: Staff, *, status: str | None = None, category: ActivityCategory | None = None
) -> sa.Select[tuple[Activity]]:
    query = (
        sa.select(Activity)
        .options(selectinload(Activity.groups))
        .where(manageable_by(staff))
        .order_by(Activity.starts_at.desc(), Activity.id.desc())
    )
    if status == "finished":
        query = query.where(Activity.status == ActivityStatus.published, Activity.ends_at <= utcnow())
    elif status == "published":
        query = query.where(Activity.status == ActivityStatus.published, Activity.ends_at > utcnow())
    elif status in ("draft", "cancelled"):
        query = query.where(Activity.status == ActivityStatus(status))
    if category is not None:
        query = query.where(Activity.category == category)
    return query


def activity_for_staff(activity_id: int, staff: Staff) -> Activity:
    activity = db.session.get(Activity, activity_id)
    if activity is None or not can_manage(activity, staff):
        raise NotFound()
    return activity


def member_to_add(employee_no: str, staff: Staff) -> Member:
    """The roster member with this 工号 (as typed: full-width, lower case …) within the staff member's
    scope, for 代报名; anyone else is "not there"."""
    member = db.session.scalar(
        sa.select(Member).where(Member.employee_no == normalize_employee_no(employee_no))
    )
    if member is None or not staff.in_scope(member.group):
        raise NotFound("没有这个工号的在册会员，或不在您负责的范围内")
    return member


def registration_for_staff(activity: Activity, registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.activity_id != activity.id:
        raise NotFound()
    return registration


def cover_readable_by(upload_id: int, member: Member | None) -> bool:
    """An activity's cover is served to whoever may see the activity."""
    return bool(
        db.session.scalar(
            sa.select(sa.exists().where(Activity.cover_upload_id == upload_id, visible_to(member)))
        )
    )
