"""Festival campaigns: plan one visit for every active member of the campaign's groups, once per member
however often it runs (a unique (campaign, member) and a skip of those already planned); members the visit
would take over the policy (the festival per-person cap above all) are listed and left out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from backend.audit.operations import record
from backend.care.models import CareCampaign, CareCategory, CareVisit, VisitStatus
from backend.care.policy import Proposal, Violation, lock_year, violations
from backend.db import utcnow
from backend.errors import NotFound, ValidationFailed
from backend.extensions import db
from backend.members.models import Group, Member, MemberStatus
from backend.staff.models import Staff


@dataclass
class RunResult:
    planned: int = 0
    already: int = 0
    left_out: list[tuple[Member, list[Violation]]] = field(default_factory=list)


def create_campaign(
    *,
    staff: Staff,
    name: str,
    festival: str,
    visit_on: date,
    gift: str,
    amount_fen: int,
    groups: Sequence[Group],
) -> CareCampaign:
    if not groups:
        raise ValidationFailed(errors={"group_ids": ["请选择至少一个组织"]})
    if any(not staff.in_scope(group) for group in groups):
        raise NotFound()
    if amount_fen < 0:
        raise ValidationFailed(errors={"amount": ["金额不能为负数"]})
    campaign = CareCampaign(
        name=name.strip(),
        festival=festival.strip(),
        year=visit_on.year,
        visit_on=visit_on,
        gift=gift.strip(),
        amount_fen=amount_fen,
        created_by_id=staff.id,
        groups=list(groups),
    )
    db.session.add(campaign)
    db.session.flush()
    record("care.campaign_create", staff=staff, target=campaign, name=campaign.name)
    return campaign


def audience(campaign: CareCampaign) -> sa.Select[tuple[Member]]:
    """Active members in the campaign's groups and every group below them."""
    clauses = [Group.path.startswith(group.path) for group in campaign.groups]
    subtree = sa.select(Group.id).where(sa.or_(*clauses))
    return (
        sa.select(Member)
        .where(Member.group_id.in_(subtree), Member.status == MemberStatus.active)
        .order_by(Member.id)
    )


def run_campaign(campaign: CareCampaign, *, staff: Staff) -> RunResult:
    lock_year(campaign.year)
    result = RunResult()
    planned = set(
        db.session.scalars(sa.select(CareVisit.member_id).where(CareVisit.campaign_id == campaign.id))
    )
    for member in db.session.scalars(audience(campaign)).all():
        if member.id in planned:
            result.already += 1
            continue
        proposal = Proposal(member, CareCategory.festival, campaign.visit_on, campaign.amount_fen, False)
        broken = violations(proposal)
        if broken:
            result.left_out.append((member, broken))
            continue
        db.session.add(_planned_visit(campaign, member))
        db.session.flush()  # the next member's budget check counts this one
        result.planned += 1
    campaign.last_run_at = utcnow()
    record(
        "care.campaign_run",
        staff=staff,
        target=campaign,
        created=result.planned,
        unchanged=result.already,
        left_out=[m.id for m, _ in result.left_out],
    )
    return result


def _planned_visit(campaign: CareCampaign, member: Member) -> CareVisit:
    return CareVisit(
        member_id=member.id,
        group_id=member.group_id,
        category=CareCategory.festival,
        status=VisitStatus.planned,
        visited_on=campaign.visit_on,
        event_on=campaign.visit_on,
        year=campaign.year,
        gift=campaign.gift,
        amount_fen=campaign.amount_fen,
        is_cash=False,
        campaign_id=campaign.id,
        notes=campaign.name,
    )
