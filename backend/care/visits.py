"""Visits: staff record them (checked against the policy, with an audited override), members confirm
receipt (电子签收) and rate them once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from backend.audit.operations import record
from backend.care.models import (
    CareCategory,
    CareRequest,
    CareVisit,
    ContentState,
    Frequency,
    VisitStatus,
)
from backend.care.policy import PolicyViolated, Proposal, lock_year, rules_for, violations
from backend.care.requests import content_verdict, mark_visited
from backend.db import utcnow
from backend.errors import Conflict, PermissionDenied, ValidationFailed
from backend.extensions import db
from backend.members.models import Member, MemberStatus
from backend.money import yuan
from backend.notifications.operations import notify
from backend.staff.models import Staff
from backend.staff.permissions import Permission
from backend.uploads.operations import store_upload
from backend.uploads.storage import StagedFile

MEMBER_LINK = "pages/care/visit?id={id}"
MAX_PHOTOS = 9


class FeedbackExists(Conflict):
    code = "feedback_exists"
    message = "您已经评价过这次慰问"


@dataclass(frozen=True)
class VisitDraft:
    member: Member
    category: CareCategory
    visited_on: date
    visitors: str
    gift: str
    amount_fen: int
    is_cash: bool = False
    notes: str = ""
    event_on: date | None = None  # the life event's date (a per-event category); a request's own date


def event_date(draft: VisitDraft, request: CareRequest | None) -> date | None:
    """The event a visit is for: a request's date when made from one; else the date staff give, which a
    per-event category requires (it is what tells a second visit for the same event)."""
    if request is not None:
        return request.occurred_on
    rule = rules_for(draft.visited_on.year).get(CareCategory(draft.category))
    if draft.event_on is None and rule is not None and rule.frequency == Frequency.per_event:
        raise ValidationFailed(errors={"event_on": ["请填写事件日期（该类慰问按每次事件计）"]})
    return draft.event_on


def lock_for_visit(member: Member, visited_on: date, event_on: date | None) -> None:
    """The locks a visit's checks run under, until the transaction ends. The year's lock orders visits
    of one year (caps, budgets, once a year). Two rules span years: one event may be visited on 31
    December or on 2 January (同一事件), and 限一次 counts every year. So the event's year is locked too
    (a campaign's visits hold their year's lock), years in ascending order, and then the member's row:
    two visits for one member are checked one after the other, whatever their years."""
    for year in sorted({visited_on.year} | ({event_on.year} if event_on else set())):
        lock_year(year)
    db.session.execute(sa.select(Member.id).where(Member.id == member.id).with_for_update(key_share=True))


def check_and_lock(
    draft: VisitDraft,
    *,
    staff: Staff,
    override_reason: str,
    request: CareRequest | None,
    event_on: date | None,
) -> list[str]:
    """Takes the locks (`lock_for_visit`), then checks; refuses with the reasons unless overridden. The
    broken rules' codes (empty when none) for the visit to keep."""
    lock_for_visit(draft.member, draft.visited_on, event_on)
    broken = violations(
        Proposal(
            draft.member,
            draft.category,
            draft.visited_on,
            draft.amount_fen,
            draft.is_cash,
            event_on=event_on,
            request_id=request.id if request else None,
        )
    )
    if not broken:
        return []
    if not override_reason.strip():
        raise PolicyViolated(broken)
    if not staff.can(Permission.manage_care):
        raise PermissionDenied("超出关怀标准的慰问需由工会干事或主席登记并说明原因")
    return [v.code for v in broken]


def record_visit(
    draft: VisitDraft,
    *,
    staff: Staff,
    override_reason: str = "",
    request: CareRequest | None = None,
    photos: Sequence[StagedFile] = (),
) -> CareVisit:
    if draft.amount_fen < 0:
        raise ValidationFailed(errors={"amount": ["金额不能为负数"]})
    if draft.member.status != MemberStatus.active:
        raise ValidationFailed(errors={"member_id": ["只能为在册会员登记慰问"]})
    if len(photos) > MAX_PHOTOS:
        raise ValidationFailed(errors={"photos": [f"最多 {MAX_PHOTOS} 张照片"]})
    if request is not None and request.member_id != draft.member.id:
        raise ValidationFailed(errors={"request_id": ["这条关怀申请不是该会员的"]})
    event_on = event_date(draft, request)
    broken = check_and_lock(
        draft, staff=staff, override_reason=override_reason, request=request, event_on=event_on
    )
    visit = CareVisit(
        member=draft.member,
        group_id=draft.member.group_id,
        category=CareCategory(draft.category),
        status=VisitStatus.done,
        visited_on=draft.visited_on,
        event_on=event_on,
        year=draft.visited_on.year,
        visitors=draft.visitors.strip(),
        gift=draft.gift.strip(),
        amount_fen=draft.amount_fen,
        is_cash=draft.is_cash,
        notes=draft.notes.strip(),
        request_id=request.id if request else None,
        recorded_by_id=staff.id,
    )
    if broken:
        visit.override_reason = override_reason.strip()
        visit.override_rules = broken
        visit.override_by_id = staff.id
    db.session.add(visit)
    db.session.flush()
    _store_photos(visit, photos, staff)
    detail = {"amount": visit.amount_fen, "category": visit.category.value}
    record("care.visit_record", staff=staff, target=visit, **detail)
    if broken:
        record("care.visit_override", staff=staff, target=visit, rules=broken, reason=visit.override_reason)
    if request is not None:
        mark_visited(request, staff=staff, note=f"{visit.visitors} 已于 {visit.visited_on.isoformat()} 走访")
    _tell_visited(visit)
    return visit


def _store_photos(visit: CareVisit, photos: Sequence[StagedFile], staff: Staff) -> None:
    if photos:
        visit.photos.extend(store_upload(staged, staff=staff, attach=True) for staged in photos)
        db.session.flush()


def _tell_visited(visit: CareVisit) -> None:
    gift = visit.gift or "慰问"
    note = f"{gift}，¥{yuan(visit.amount_fen)}，请在小程序中确认签收"
    notify(
        visit.member,
        kind="care",
        title=f"{visit.category_label}：您的慰问已送达" if not visit.campaign_id else "您的节日慰问品已备好",
        body=note,
        link=MEMBER_LINK.format(id=visit.id),
        dedupe_key=f"care:visit:{visit.id}:done",
        data={"status": "待签收", "note": note, "updated_at": utcnow()},
    )


def mark_done(visits: Sequence[CareVisit], *, staff: Staff) -> int:
    """Campaign visits handed over (bulk): each member is told their gift is ready."""
    changed = [visit for visit in visits if visit.status == VisitStatus.planned]
    for visit in changed:
        visit.status = VisitStatus.done
        visit.recorded_by_id = staff.id
        _tell_visited(visit)
    if changed:
        record("care.visits_done", staff=staff, total=len(changed), ids=[v.id for v in changed])
    return len(changed)


def confirm_receipt(visit: CareVisit, *, member: Member, now: datetime | None = None) -> CareVisit:
    """电子签收: the first confirmation is kept; again, nothing changes."""
    if visit.received_at is None:
        visit.received_at = now or utcnow()
        record("care.visit_receipt", member_id=member.id, target=visit)
    return visit


def give_feedback(visit: CareVisit, *, member: Member, rating: int, comment: str) -> CareVisit:
    if visit.rating is not None:
        raise FeedbackExists()
    if not 1 <= rating <= 5:
        raise ValidationFailed(errors={"rating": ["评分应为 1 到 5"]})
    held = False
    if comment.strip():
        # Risky text is refused; "review" (or no verdict) is kept, flagged: staff see it marked as held.
        held = content_verdict(member, comment)[0] == ContentState.held
    visit.rating = rating
    visit.comment = comment.strip()
    visit.comment_held = held
    visit.rated_at = utcnow()
    db.session.flush()
    return visit
