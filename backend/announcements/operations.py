"""What staff (and the scheduler) do with announcements: write, schedule, publish, withdraw.

A member's first read and the reminders to those who have not read are in `reading.py`; attaching
files in `attachments.py`. The guards here (`require_manage`, `require_state`) serve all three.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from backend.announcements.models import (
    Announcement,
    AnnouncementCategory,
    AnnouncementRecipient,
    AnnouncementStatus,
    announcement_groups,
)
from backend.announcements.sanitize import plain_text, plain_to_html, sanitize_html, summarize
from backend.announcements.workflow import REFUSALS, Action, allowed
from backend.audit.operations import record
from backend.db import UTCDateTime, to_local, utcnow
from backend.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from backend.extensions import db
from backend.members.models import Group, Member, MemberStatus
from backend.notifications.operations import notify_many, withdraw_messages
from backend.staff.models import Staff
from backend.staff.permissions import Permission

TITLE_MAX = 100
BODY_MAX = 100_000
MEMBER_LINK = "/pages/announcements/detail?id={id}"


def notification_prefix(announcement_id: int) -> str:
    """The publication's inbox message for member m has dedupe key f"{prefix}:{m}"."""
    return f"announcement:{announcement_id}"


def require_manage(announcement: Announcement, staff: Staff) -> None:
    # Outside their scope an announcement is answered like a missing one (the admin shows 404).
    if not announcement.can_manage(staff):
        raise NotFound()


def require_state(announcement: Announcement, action: Action) -> None:
    if not allowed(action, announcement.status):
        raise InvalidState(REFUSALS[action])


def _clean_content(title: str, body_html: str) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = ["请填写标题"]
    elif len(title) > TITLE_MAX:
        errors["title"] = [f"标题不能超过 {TITLE_MAX} 个字"]
    if len(body_html or "") > BODY_MAX:
        errors["body_html"] = ["正文太长，请精简或分多篇发布"]
        body = ""
    else:
        body = sanitize_html(plain_to_html(body_html))
        if not plain_text(body) and "<img" not in body:
            errors["body_html"] = ["请填写正文"]
    if errors:
        raise ValidationFailed(errors=errors)
    return title, body


def _check_audience(staff: Staff, *, whole_union: bool, groups: Sequence[Group]) -> list[Group]:
    """The audience must lie in the author's scope; "whole union" only for whoever holds the root."""
    if whole_union:
        if not staff.holds_whole_union:
            raise ValidationFailed(errors={"audience": ["只有负责全工会的工作人员可以面向全体会员发布"]})
        return []
    chosen = list({group.id: group for group in groups}.values())
    if not chosen:
        raise ValidationFailed(errors={"groups": ["请至少选择一个组织"]})
    if not all(staff.in_scope(group) for group in chosen):
        raise ValidationFailed(errors={"groups": ["只能选择您负责范围内的组织"]})
    return chosen


def _checked_content(
    staff: Staff,
    *,
    title: str,
    body_html: str,
    category: AnnouncementCategory,
    whole_union: bool,
    groups: Sequence[Group],
    pinned: bool,
    push: bool,
) -> dict[str, Any]:
    """The announcement's fields as saved: title and body checked and sanitised, audience in scope."""
    title, body = _clean_content(title, body_html)
    audience = _check_audience(staff, whole_union=whole_union, groups=groups)
    return {
        "title": title,
        "body_html": body,
        "summary": summarize(body),
        "category": AnnouncementCategory(category),
        "whole_union": whole_union,
        "groups": audience,
        "pinned": pinned,
        "push": push,
    }


def create_announcement(
    *,
    staff: Staff,
    title: str,
    body_html: str,
    category: AnnouncementCategory,
    whole_union: bool,
    groups: Sequence[Group] = (),
    pinned: bool = False,
    push: bool = True,
) -> Announcement:
    """A new draft. The body is sanitised here, so nothing unsafe is ever stored."""
    if not staff.can(Permission.manage_announcements):
        raise PermissionDenied()
    content = _checked_content(
        staff,
        title=title,
        body_html=body_html,
        category=category,
        whole_union=whole_union,
        groups=groups,
        pinned=pinned,
        push=push,
    )
    announcement = Announcement(**content, status=AnnouncementStatus.draft, author=staff)
    db.session.add(announcement)
    db.session.flush()
    record(
        "announcement.create",
        staff=staff,
        target=announcement,
        title=announcement.title,
        whole_union=whole_union,
        group_ids=[g.id for g in announcement.groups],
    )
    return announcement


def update_announcement(
    announcement: Announcement,
    *,
    staff: Staff,
    title: str,
    body_html: str,
    category: AnnouncementCategory,
    whole_union: bool,
    groups: Sequence[Group] = (),
    pinned: bool,
    push: bool,
) -> Announcement:
    """Edits a draft or a scheduled announcement (a scheduled one keeps its time)."""
    require_manage(announcement, staff)
    require_state(announcement, Action.edit)
    content = _checked_content(
        staff,
        title=title,
        body_html=body_html,
        category=category,
        whole_union=whole_union,
        groups=groups,
        pinned=pinned,
        push=push,
    )
    for field, value in content.items():
        setattr(announcement, field, value)
    db.session.flush()
    record("announcement.update", staff=staff, target=announcement, title=announcement.title)
    return announcement


def schedule(
    announcement: Announcement, *, staff: Staff, publish_at: datetime, now: datetime | None = None
) -> Announcement:
    """Publish later: `publish_due` (the periodic job) publishes it once `publish_at` has passed."""
    require_manage(announcement, staff)
    require_state(announcement, Action.schedule)
    now = now or utcnow()
    if publish_at.tzinfo is None:
        raise ValidationFailed(errors={"publish_at": ["时间缺少时区"]})
    if publish_at <= now:
        raise ValidationFailed(errors={"publish_at": ["定时发布时间须晚于当前时间"]})
    announcement.status = AnnouncementStatus.scheduled
    announcement.publish_at = publish_at
    db.session.flush()
    record("announcement.schedule", staff=staff, target=announcement, publish_at=publish_at.isoformat())
    return announcement


def unschedule(announcement: Announcement, *, staff: Staff) -> Announcement:
    """Back to draft: the scheduled time is forgotten."""
    require_manage(announcement, staff)
    require_state(announcement, Action.unschedule)
    announcement.status = AnnouncementStatus.draft
    announcement.publish_at = None
    db.session.flush()
    record("announcement.unschedule", staff=staff, target=announcement)
    return announcement


def set_publish_time(
    announcement: Announcement, *, staff: Staff, publish_at: datetime | None
) -> Announcement:
    """The edit form's "定时发布" field: a new time (re)schedules; an empty one turns a scheduled
    announcement back into a draft; an unchanged time, or none on a draft, changes nothing."""
    if publish_at is not None:
        if publish_at != announcement.publish_at:
            schedule(announcement, staff=staff, publish_at=publish_at)
    elif announcement.status == AnnouncementStatus.scheduled:
        unschedule(announcement, staff=staff)
    return announcement


def _claim_for_publication(announcement: Announcement, now: datetime) -> bool:
    """The one atomic step that makes an announcement published: true for exactly one caller.

    A conditional UPDATE rather than "read status, then assign": a concurrent publisher (another
    worker's `publish_due`, a staff member's button) waits on the row lock, then finds the status
    changed and updates nothing, so recipients and messages are created once.
    """
    db.session.flush()
    result = db.session.execute(
        sa.update(Announcement)
        .where(
            Announcement.id == announcement.id,
            Announcement.status.in_([AnnouncementStatus.draft, AnnouncementStatus.scheduled]),
        )
        .values(status=AnnouncementStatus.published, published_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(announcement)
    return result.rowcount == 1


def _snapshot_recipients(announcement: Announcement, now: datetime) -> list[int]:
    """Active members in the audience at this moment, with their group then, in one INSERT … SELECT."""
    audience_group = aliased(Group)
    members = (
        sa.select(
            sa.literal(announcement.id),
            Member.id,
            Member.group_id,
            sa.literal(True),
            sa.literal(now, UTCDateTime()),
        )
        .join(Group, Member.group_id == Group.id)
        .where(Member.status == MemberStatus.active)
    )
    if not announcement.whole_union:
        # An announcement to a group reaches every group below it.
        members = members.where(
            sa.exists()
            .where(
                announcement_groups.c.announcement_id == announcement.id,
                announcement_groups.c.group_id == audience_group.id,
                Group.path.startswith(audience_group.path),
            )
            .correlate(Group)
        )
    db.session.execute(
        sa.insert(AnnouncementRecipient).from_select(
            ["announcement_id", "member_id", "group_id", "in_snapshot", "created_at"], members
        )
    )
    return list(
        db.session.scalars(
            sa.select(AnnouncementRecipient.member_id)
            .where(AnnouncementRecipient.announcement_id == announcement.id)
            .order_by(AnnouncementRecipient.member_id)
        )
    )


def message_data(announcement: Announcement) -> dict[str, str]:
    published = to_local(announcement.published_at)
    return {
        "title": announcement.title,
        "category": announcement.category_label,
        "published_at": published.isoformat() if published else "",
        "note": announcement.summary or "请点击查看公告全文",
    }


def publish(announcement: Announcement, *, staff: Staff | None, now: datetime | None = None) -> Announcement:
    """Publishes now: snapshots the recipients, puts a message in each inbox, pushes if `push` is on.

    Idempotent: publishing a published announcement changes nothing. `staff` is None only for the
    scheduler (the author's scope was checked when the audience was saved).
    """
    if staff is not None:
        require_manage(announcement, staff)
    if announcement.status == AnnouncementStatus.published:
        return announcement
    require_state(announcement, Action.publish)
    now = now or utcnow()
    if not _claim_for_publication(announcement, now):
        return announcement
    member_ids = _snapshot_recipients(announcement, now)
    sent = notify_many(
        member_ids,
        kind="announcement",
        title=f"【{announcement.category_label}】{announcement.title}",
        body=announcement.summary,
        link=MEMBER_LINK.format(id=announcement.id),
        dedupe_prefix=notification_prefix(announcement.id),
        data=message_data(announcement),
        push=announcement.push,
    )
    record(
        "announcement.publish",
        staff=staff,
        target=announcement,
        recipients=len(member_ids),
        messages=sent,
        scheduled=staff is None,
    )
    return announcement


@dataclass(frozen=True)
class Withdrawal:
    """What a withdrawal came to: the announcement, and how many members' inboxes now say 已撤回."""

    announcement: Announcement
    inboxes: int


def withdraw(announcement: Announcement, *, staff: Staff, now: datetime | None = None) -> Withdrawal:
    """Hides a published announcement from members. Its inbox messages (the publication's and the
    reminders) stay but show as withdrawn, without their text; pushes not yet sent are cancelled."""
    require_manage(announcement, staff)
    require_state(announcement, Action.withdraw)
    now = now or utcnow()
    announcement.status = AnnouncementStatus.withdrawn
    announcement.withdrawn_at = now
    db.session.flush()
    inboxes = withdraw_messages(notification_prefix(announcement.id), now=now)
    record("announcement.withdraw", staff=staff, target=announcement, inboxes=inboxes)
    return Withdrawal(announcement, inboxes)


def publish_due(now: datetime | None = None, *, limit: int = 100) -> list[Announcement]:
    """Publishes scheduled announcements whose time has come (the periodic job; commit per batch).

    On PostgreSQL the candidates are locked with SKIP LOCKED, so two workers running this at once take
    different rows instead of queueing behind each other; the conditional UPDATE in `publish` is what
    guarantees one publication even when a staff member presses "publish" at the same moment.
    """
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(Announcement)
        .where(Announcement.status == AnnouncementStatus.scheduled, Announcement.publish_at <= now)
        .order_by(Announcement.publish_at, Announcement.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    published = []
    for announcement in due:
        publish(announcement, staff=None, now=now)
        published.append(announcement)
    return published
