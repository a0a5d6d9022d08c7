"""Read side: what a member may see of their own care data, and what staff may open in their scope (404
for anything else, exactly like a missing id)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from backend.care.models import (
    CareCampaign,
    CareCategory,
    CareRequest,
    CareVisit,
    RequestStatus,
    VisitStatus,
    care_visit_photos,
)
from backend.errors import NotFound
from backend.extensions import db
from backend.members.models import Member
from backend.staff.models import Staff
from backend.staff.permissions import Permission
from backend.uploads.models import Upload

# --- a member's own --------------------------------------------------------------------------------


def own_requests(member: Member) -> sa.Select[tuple[CareRequest]]:
    return (
        sa.select(CareRequest)
        .where(CareRequest.member_id == member.id)
        .options(selectinload(CareRequest.events))
        .order_by(CareRequest.id.desc())
    )


def own_request(request_id: int, member: Member | None) -> CareRequest:
    request = db.session.get(CareRequest, request_id)
    if request is None or member is None or request.member_id != member.id:
        raise NotFound()
    return request


def own_visits(member: Member) -> sa.Select[tuple[CareVisit]]:
    """Visits handed over to the member (planned campaign visits appear once the gift is ready)."""
    return (
        sa.select(CareVisit)
        .where(CareVisit.member_id == member.id, CareVisit.status == VisitStatus.done)
        .order_by(CareVisit.visited_on.desc(), CareVisit.id.desc())
    )


def own_visit(visit_id: int, member: Member | None) -> CareVisit:
    visit = db.session.get(CareVisit, visit_id)
    if visit is None or member is None or visit.member_id != member.id or visit.status != VisitStatus.done:
        raise NotFound()
    return visit


# --- staff, in scope -------------------------------------------------------------------------------


def request_for_staff(request_id: int, staff: Staff) -> CareRequest:
    request = db.session.get(CareRequest, request_id)
    if request is None or not staff.can(Permission.manage_care) or not staff.in_scope(request.member.group):
        raise NotFound()
    return request


def visit_for_staff(visit_id: int, staff: Staff) -> CareVisit:
    visit = db.session.get(CareVisit, visit_id)
    if (
        visit is None
        or not staff.can(Permission.record_care_visits)
        or not staff.in_scope(visit.member.group)
    ):
        raise NotFound()
    return visit


def campaign_for_staff(campaign_id: int, staff: Staff) -> CareCampaign:
    campaign = db.session.get(CareCampaign, campaign_id)
    if (
        campaign is None
        or not staff.can(Permission.manage_care)
        or not all(staff.in_scope(group) for group in campaign.groups)
    ):
        raise NotFound()
    return campaign


def member_for_care(member_id: int | None, staff: Staff) -> Member:
    member = db.session.get(Member, member_id) if member_id else None
    if member is None or not staff.can(Permission.record_care_visits) or not staff.in_scope(member.group):
        raise NotFound()
    return member


def request_queue(staff: Staff, *, open_only: bool = True) -> sa.Select[tuple[CareRequest]]:
    query = (
        sa.select(CareRequest)
        .join(Member, Member.id == CareRequest.member_id)
        .where(staff.scope_filter(Member.group_id))
        .options(selectinload(CareRequest.member))
    )
    if open_only:
        query = query.where(CareRequest.status.in_([RequestStatus.submitted, RequestStatus.scheduled]))
    return query.order_by(CareRequest.created_at.desc(), CareRequest.id.desc())


def staff_visits(
    staff: Staff,
    *,
    unconfirmed: bool = False,
    campaign_id: int | None = None,
    category: CareCategory | None = None,
) -> sa.Select[tuple[CareVisit]]:
    query = (
        sa.select(CareVisit)
        .join(Member, Member.id == CareVisit.member_id)
        .where(staff.scope_filter(Member.group_id))
        .options(selectinload(CareVisit.member))
    )
    if unconfirmed:
        query = query.where(CareVisit.status == VisitStatus.done, CareVisit.received_at.is_(None))
    if campaign_id is not None:
        query = query.where(CareVisit.campaign_id == campaign_id)
    if category is not None:
        query = query.where(CareVisit.category == category)
    return query.order_by(CareVisit.visited_on.desc(), CareVisit.id.desc())


def campaigns(staff: Staff) -> list[CareCampaign]:
    rows = db.session.scalars(sa.select(CareCampaign).order_by(CareCampaign.id.desc()).limit(200))
    return [c for c in rows if all(staff.in_scope(group) for group in c.groups)]


def campaign_counts(campaign: CareCampaign) -> dict[str, int]:
    rows = db.session.execute(
        sa.select(CareVisit.status, sa.func.count())
        .where(CareVisit.campaign_id == campaign.id)
        .group_by(CareVisit.status)
    )
    counts = {status.value: n for status, n in rows}
    return {"planned": counts.get("planned", 0), "done": counts.get("done", 0)}


def visit_photo_readable_by(upload_id: int, member: Member | None) -> bool:
    """A photo of a visit to this member, once handed over (GET /uploads/{id})."""
    if member is None:
        return False
    return bool(
        db.session.scalar(
            sa.select(
                sa.exists().where(
                    care_visit_photos.c.upload_id == upload_id,
                    care_visit_photos.c.visit_id == CareVisit.id,
                    CareVisit.member_id == member.id,
                    CareVisit.status == VisitStatus.done,
                )
            )
        )
    )


def file_of(files: list[Upload], upload_id: int) -> Upload:
    """One of a request's attachments or a visit's photos; 404 for any other upload."""
    upload = next((u for u in files if u.id == upload_id), None)
    if upload is None:
        raise NotFound()
    return upload
