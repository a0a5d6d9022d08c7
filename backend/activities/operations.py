"""What staff do with activities (writes, no commit): create, edit, publish, cancel, copy; and the
registrations they handle by hand (add, remove, check in, no-shows). Every action is audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backend.activities import messages
from backend.activities.fields import check_companions, clean_answers, clean_fields
from backend.activities.models import (
    Activity,
    ActivityCategory,
    ActivityStatus,
    Allocation,
    Registration,
    RegistrationStatus,
)
from backend.activities.queries import can_manage, live_registration
from backend.activities.signup import lock_activity, place, promote, withdraw
from backend.announcements.sanitize import sanitize_html
from backend.audit.operations import record
from backend.db import utcnow
from backend.errors import Conflict, InvalidState, NotFound, ValidationFailed
from backend.extensions import db
from backend.members.models import Group, Member, MemberStatus
from backend.staff.models import Staff
from backend.uploads.models import Upload

S = RegistrationStatus


@dataclass
class ActivityDraft:
    """What the staff member typed in the activity form."""

    title: str
    category: ActivityCategory
    description_html: str
    location: str
    starts_at: datetime
    ends_at: datetime
    registration_opens_at: datetime
    registration_closes_at: datetime
    cancel_deadline: datetime | None = None
    capacity: int | None = None
    max_companions: int = 0
    allocation: Allocation = Allocation.first_come
    waitlist_enabled: bool = True
    checkin_required: bool = True
    whole_union: bool = False
    group_ids: list[int] = field(default_factory=list)
    form_fields: list[dict[str, Any]] = field(default_factory=list)


def _check_times(draft: ActivityDraft) -> None:
    errors: dict[str, list[str]] = {}
    if draft.ends_at < draft.starts_at:
        errors["ends_at"] = ["结束时间不能早于开始时间"]
    if draft.registration_closes_at <= draft.registration_opens_at:
        errors["registration_closes_at"] = ["报名截止时间应晚于报名开始时间"]
    if draft.registration_closes_at > draft.starts_at:
        errors["registration_closes_at"] = ["报名截止时间不能晚于活动开始时间"]
    if draft.cancel_deadline and draft.cancel_deadline > draft.starts_at:
        errors["cancel_deadline"] = ["取消截止时间不能晚于活动开始时间"]
    if draft.capacity is not None and draft.capacity < 1:
        errors["capacity"] = ["名额至少为 1 人，不限名额请留空"]
    if errors:
        raise ValidationFailed(errors=errors)


def _audience(draft: ActivityDraft, staff: Staff) -> list[Group]:
    if draft.whole_union:
        if not staff.holds_whole_union:
            raise ValidationFailed(errors={"groups": ["您只能面向负责范围内的组织发布活动"]})
        return []
    groups = list(db.session.scalars(sa.select(Group).where(Group.id.in_(draft.group_ids))))
    if not groups:
        raise ValidationFailed(errors={"groups": ["请选择面向的组织，或选择面向全体会员"]})
    if not all(staff.in_scope(group) for group in groups):
        raise ValidationFailed(errors={"groups": ["您只能面向负责范围内的组织发布活动"]})
    return groups


def require_manage(activity: Activity, staff: Staff) -> None:
    if not can_manage(activity, staff):
        raise NotFound()


def save_activity(
    activity: Activity | None, draft: ActivityDraft, *, staff: Staff, cover: Upload | None = None
) -> Activity:
    """Creates (activity None) or edits an activity. Once published, the seats rules stay (allocation,
    capacity below the seats taken are refused) and a new time or place is told to everyone signed up."""
    _check_times(draft)
    _check_cover(cover, staff)
    groups = _audience(draft, staff)
    values = {k: v for k, v in vars(draft).items() if k != "group_ids"}
    values["description_html"] = sanitize_html(draft.description_html or "")
    values["form_fields"] = clean_fields(draft.form_fields)
    creating = activity is None
    if activity is None:
        activity = Activity(author=staff, status=ActivityStatus.draft, **values)
        db.session.add(activity)
        moved = False
    else:
        require_manage(activity, staff)
        lock_activity(activity.id)
        if activity.status == ActivityStatus.cancelled:
            raise InvalidState("已取消的活动不能再修改")
        _check_published_change(activity, draft)
        moved = activity.status == ActivityStatus.published and (
            (activity.starts_at, activity.ends_at, activity.location)
            != (draft.starts_at, draft.ends_at, draft.location)
        )
        for key, value in values.items():
            setattr(activity, key, value)
    activity.groups = groups
    if cover is not None:
        activity.cover = cover
    db.session.flush()
    if creating:
        record("activity.create", staff=staff, target=activity, title=activity.title)
    else:
        record("activity.update", staff=staff, target=activity, title=activity.title)
    if moved:
        _tell_change(activity)
    if not creating:  # more seats (or no limit) go first to the waitlist, in its order, not to new taps
        promote(activity, now=utcnow())
    return activity


def _check_cover(cover: Upload | None, staff: Staff) -> None:
    """A cover is an image (JPG or PNG, never the PDF an upload may be) that this staff member uploaded:
    never a member's upload, which would then be served to the whole audience."""
    if cover is None:
        return
    if not cover.is_image:
        raise ValidationFailed(errors={"cover": ["封面请上传 JPG 或 PNG 图片"]})
    if cover.staff_id != staff.id:
        raise ValidationFailed(errors={"cover": ["封面图片无效，请重新上传"]})


def _check_published_change(activity: Activity, draft: ActivityDraft) -> None:
    if activity.status != ActivityStatus.published:
        return
    if draft.allocation != activity.allocation:
        raise ValidationFailed(errors={"allocation": ["已发布的活动不能更改名额分配方式"]})
    if draft.capacity is not None and draft.capacity < activity.seats_taken:
        raise ValidationFailed(errors={"capacity": [f"已有 {activity.seats_taken} 人报名，名额不能少于此数"]})


def _signed_up(activity: Activity, statuses: tuple[S, ...]) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(Registration.member_id).where(
                Registration.activity_id == activity.id,
                Registration.status.in_(statuses),
                Registration.member_id.is_not(None),
            )
        )
    )


def _tell_change(activity: Activity) -> None:
    stamp = utcnow().strftime("%Y%m%d%H%M%S")
    messages.tell_many(
        activity,
        _signed_up(activity, (S.registered, S.waitlisted, S.applied)),
        event=f"changed-{stamp}",
        title=f"活动时间或地点变更：{activity.title}",
        body=f"活动时间改为 {messages.when(activity)}，地点 {activity.location}，请留意。",
    )


def publish(activity: Activity, *, staff: Staff) -> Activity:
    require_manage(activity, staff)
    if activity.status != ActivityStatus.draft:
        raise InvalidState("只有草稿可以发布")
    activity.status, activity.published_at = ActivityStatus.published, utcnow()
    record("activity.publish", staff=staff, target=activity, title=activity.title)
    return activity


def cancel_activity(activity: Activity, *, staff: Staff, reason: str) -> int:
    """Cancels a published activity and tells everyone registered, waitlisted or applied."""
    require_manage(activity, staff)
    lock_activity(activity.id)
    if activity.status != ActivityStatus.published:
        raise InvalidState("只有已发布的活动可以取消")
    activity.status, activity.cancelled_at = ActivityStatus.cancelled, utcnow()
    told = messages.tell_many(
        activity,
        _signed_up(activity, (S.registered, S.waitlisted, S.applied)),
        event="cancelled",
        title=f"活动取消：{activity.title}",
        body=f"原定 {messages.when(activity)} 的活动已取消。{reason}"[:200],
    )
    record("activity.cancel", staff=staff, target=activity, title=activity.title, reason=reason)
    return told


def copy_activity(activity: Activity, *, staff: Staff) -> Activity:
    """A new draft with the same content (times kept for the staff to change)."""
    require_manage(activity, staff)
    keep = [
        "title",
        "category",
        "description_html",
        "location",
        "starts_at",
        "ends_at",
        "registration_opens_at",
        "registration_closes_at",
        "cancel_deadline",
        "capacity",
        "max_companions",
        "allocation",
        "waitlist_enabled",
        "checkin_required",
        "whole_union",
        "form_fields",
        "cover_upload_id",
    ]
    copy = Activity(author=staff, status=ActivityStatus.draft, **{k: getattr(activity, k) for k in keep})
    copy.title = f"{activity.title}（副本）"[:100]
    copy.groups = list(activity.groups)
    db.session.add(copy)
    db.session.flush()
    record("activity.copy", staff=staff, target=copy, title=copy.title, id=activity.id)
    return copy


def add_member(
    activity: Activity, member: Member, *, staff: Staff, reason: str, companions: int = 0
) -> Registration:
    """代报名: outside the window and the audience, never beyond the seats (waitlisted when full)."""
    require_manage(activity, staff)
    lock_activity(activity.id)
    if activity.status != ActivityStatus.published:
        raise InvalidState("只有已发布的活动可以添加报名")
    if member.status != MemberStatus.active or not staff.in_scope(member.group):
        raise NotFound()
    if live_registration(activity.id, member.id) is not None:
        raise Conflict("该会员已报名")
    check_companions(companions, activity.max_companions)
    registration = Registration(
        activity=activity,
        member=member,
        group_id=member.group_id,
        companions=companions,
        answers=clean_answers([{**f, "required": False} for f in activity.form_fields], {}),
        added_by_id=staff.id,
    )
    place(activity, registration)
    db.session.add(registration)
    db.session.flush()
    record(
        "activity.add_member",
        staff=staff,
        target=activity,
        member_id=member.id,
        reason=reason,
        employee_no=member.employee_no,
        status=registration.status.value,
    )
    return registration


def remove_registration(registration: Registration, *, staff: Staff, reason: str) -> None:
    """取消报名 by hand, deadline or not; a freed seat goes to the waitlist as usual."""
    activity = registration.activity
    require_manage(activity, staff)
    lock_activity(activity.id)
    db.session.refresh(registration)
    if registration.status not in (S.registered, S.waitlisted, S.applied):
        raise InvalidState("该报名已取消或已结束")
    withdraw(activity, registration, now=utcnow())
    record(
        "activity.remove_member",
        staff=staff,
        target=activity,
        member_id=registration.member_id,
        reason=reason,
        id=registration.id,
    )


def mark_no_shows(activity: Activity, *, staff: Staff, now: datetime | None = None) -> int:
    """After the end of a published activity: every registered member who did not check in is a
    no-show. Under the activity's row lock, so no check-in by hand or removal is half-way through."""
    require_manage(activity, staff)
    now = now or utcnow()
    activity = lock_activity(activity.id) or activity
    if activity.status != ActivityStatus.published:
        raise InvalidState("只有已发布的活动可以标记未到场")
    if now < activity.ends_at:
        raise InvalidState("活动结束后才能标记未到场")
    result = db.session.execute(
        sa.update(Registration)
        .where(Registration.activity_id == activity.id, Registration.status == S.registered)
        .values(status=S.no_show)
        .execution_options(synchronize_session="fetch")
    )
    count = result.rowcount or 0  # type: ignore[attr-defined]
    record("activity.no_shows", staff=staff, target=activity, rows=count)
    return count
