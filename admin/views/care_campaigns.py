"""节日慰问活动: create a campaign for groups in scope, run it (one planned visit per member, however often it
runs; members over the festival cap listed and left out), mark its visits handed over in bulk."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for

from admin.blueprint import bp, current_staff, permission_required, post_action, save_form
from admin.views.care_forms import CampaignForm
from backend.care.campaigns import RunResult, create_campaign, run_campaign
from backend.care.models import RULE_LABELS, CareVisit, VisitStatus
from backend.care.queries import campaign_counts, campaign_for_staff, campaigns, staff_visits
from backend.care.visits import mark_done
from backend.db import parse_id, unit_of_work
from backend.extensions import db
from backend.members.models import Group
from backend.members.queries import group_tree
from backend.money import parse_yuan
from backend.staff.permissions import Permission


@bp.get("/care/campaigns")
@permission_required(Permission.manage_care)
def care_campaigns() -> Any:
    rows = [(c, campaign_counts(c)) for c in campaigns(current_staff())]
    return render_template("admin/care/campaigns.html", rows=rows)


def _groups(ids: list[int]) -> list[Group]:
    return list(db.session.scalars(sa.select(Group).where(Group.id.in_(ids)))) if ids else []


@bp.route("/care/campaigns/new", methods=["GET", "POST"])
@permission_required(Permission.manage_care)
def care_campaign_new() -> Any:
    staff = current_staff()
    form = CampaignForm()
    form.group_ids.set_tree(group_tree(staff.scope))
    result = save_form(
        form,
        lambda: create_campaign(
            staff=staff,
            name=form.name.data,
            festival=form.festival.data,
            visit_on=form.visit_on.data,
            gift=form.gift.data,
            amount_fen=parse_yuan(form.amount.data) or 0,
            groups=_groups(form.group_ids.data),
        ),
    )
    if result.saved and result.value is not None:
        flash("活动已创建，请生成慰问计划", "success")
        return redirect(url_for("admin.care_campaign", campaign_id=result.value.id))
    return render_template("admin/care/campaign_form.html", form=form), result.status


def _campaign_page(campaign_id: int, run: RunResult | None = None) -> Any:
    campaign = campaign_for_staff(campaign_id, current_staff())
    visits = db.session.scalars(staff_visits(current_staff(), campaign_id=campaign.id).limit(500)).all()
    return render_template(
        "admin/care/campaign.html",
        c=campaign,
        counts=campaign_counts(campaign),
        visits=visits,
        run=run,
        rule_labels=RULE_LABELS,
    )


@bp.get("/care/campaigns/<int:campaign_id>")
@permission_required(Permission.manage_care)
def care_campaign(campaign_id: int) -> Any:
    return _campaign_page(campaign_id)


@bp.post("/care/campaigns/<int:campaign_id>/run")
@permission_required(Permission.manage_care)
def care_campaign_run(campaign_id: int) -> Any:
    staff = current_staff()
    with unit_of_work():
        result = run_campaign(campaign_for_staff(campaign_id, staff), staff=staff)
    left = f"，{len(result.left_out)} 人超出标准未列入" if result.left_out else ""
    flash(f"新计划 {result.planned} 人，已在计划中 {result.already} 人{left}", "success")
    return _campaign_page(campaign_id, run=result)


@bp.post("/care/campaigns/<int:campaign_id>/done")
@permission_required(Permission.manage_care)
def care_campaign_done(campaign_id: int) -> Any:
    staff = current_staff()
    campaign = campaign_for_staff(campaign_id, staff)
    chosen = [i for i in (parse_id(v) for v in request.form.getlist("visit_ids")) if i]
    query = sa.select(CareVisit).where(
        CareVisit.campaign_id == campaign.id,
        CareVisit.id.in_(chosen),
        CareVisit.status == VisitStatus.planned,
    )
    return post_action(
        lambda: mark_done(db.session.scalars(query).all(), staff=staff),
        success=lambda n: f"已标记 {n} 人送达，并通知会员领取" if n else ("请先勾选要标记的会员", "error"),
        redirect_to=url_for("admin.care_campaign", campaign_id=campaign.id),
    )
