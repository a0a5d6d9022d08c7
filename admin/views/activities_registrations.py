"""活动报名名单: the registrations of one activity (filters, counts), added or removed by hand with a
reason, manual check-in, no-shows after the end, and the 实名制签到表 (xlsx and printable)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import sqlalchemy as sa
from flask import Response, flash, redirect, render_template, request, send_file, url_for

from admin.blueprint import FORM_ERRORS, bp, current_staff, page_arg, permission_required, post_action
from admin.forms import EmptyForm
from admin.views.activities_forms import AddMemberForm, ReasonForm
from backend.activities import operations
from backend.activities.checkin import staff_check_in
from backend.activities.models import REGISTRATION_STATUS_LABELS, Registration, RegistrationStatus
from backend.activities.queries import activity_for_staff, member_to_add, registration_for_staff
from backend.activities.sheet import export_sheet, sheet_xlsx
from backend.db import parse_id, unit_of_work, utcnow
from backend.errors import NotFound
from backend.extensions import db
from backend.members.models import Group
from backend.members.queries import group_display_paths
from backend.staff.permissions import Permission

PERMISSION = Permission.manage_activities
PER_PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _registrations(activity_id: int, status: str, group_id: int | None) -> sa.Select[tuple[Registration]]:
    query = sa.select(Registration).where(Registration.activity_id == activity_id)
    if status:
        query = query.where(Registration.status == RegistrationStatus(status))
    if group_id:
        query = query.where(Registration.group_id == group_id)
    return query.order_by(
        Registration.waitlist_position.nulls_last(), Registration.created_at, Registration.id
    )


def _counts(activity_id: int) -> dict[str, int]:
    rows = db.session.execute(
        sa.select(Registration.status, sa.func.count())
        .where(Registration.activity_id == activity_id)
        .group_by(Registration.status)
    )
    return {status.value: n for status, n in rows}


@bp.get("/activities/<int:activity_id>/registrations")
@permission_required(PERMISSION)
def activity_registrations(activity_id: int) -> Any:
    activity = activity_for_staff(activity_id, current_staff())
    status = request.args.get("status", "")
    status = status if status in REGISTRATION_STATUS_LABELS else ""
    group_id = parse_id(request.args.get("group_id"))
    query = _registrations(activity.id, status, group_id)
    pagination = db.paginate(query, page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template(
        "admin/activities/registrations.html",
        activity=activity,
        pagination=pagination,
        registrations=pagination.items,
        counts=_counts(activity.id),
        statuses=REGISTRATION_STATUS_LABELS,
        status=status,
        group_id=group_id,
        group_names=_group_names(activity_id),
        add_form=AddMemberForm(),
        reason_form=ReasonForm(),
        action_form=EmptyForm(),
        ended=utcnow() >= activity.ends_at,
    )


def _group_names(activity_id: int) -> dict[int, str]:
    signed_up = sa.select(Registration.group_id).where(Registration.activity_id == activity_id)
    return group_display_paths(db.session.scalars(sa.select(Group).where(Group.id.in_(signed_up))).all())


def _to_list(activity_id: int) -> str:
    return url_for("admin.activity_registrations", activity_id=activity_id)


@bp.post("/activities/<int:activity_id>/registrations/add")
@permission_required(PERMISSION)
def activity_registration_add(activity_id: int) -> Any:
    staff = current_staff()
    activity = activity_for_staff(activity_id, staff)
    form = AddMemberForm()
    if not form.validate_on_submit():
        flash("请填写工号和原因", "error")
        return redirect(_to_list(activity_id))

    def add() -> Registration:
        member = member_to_add(form.employee_no.data or "", staff)
        return operations.add_member(
            activity, member, staff=staff, reason=form.reason.data or "", companions=form.companions.data or 0
        )

    return post_action(
        add,
        success=lambda r: f"已为会员报名：{r.status_label}",
        redirect_to=_to_list(activity_id),
        errors=(*FORM_ERRORS, NotFound),
    )


@bp.post("/activities/<int:activity_id>/registrations/<int:registration_id>/remove")
@permission_required(PERMISSION)
def activity_registration_remove(activity_id: int, registration_id: int) -> Any:
    staff = current_staff()
    activity = activity_for_staff(activity_id, staff)
    registration = registration_for_staff(activity, registration_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash("请填写取消报名的原因", "error")
        return redirect(_to_list(activity_id))
    return post_action(
        lambda: operations.remove_registration(registration, staff=staff, reason=form.reason.data or ""),
        success="已取消该会员的报名",
        redirect_to=_to_list(activity_id),
    )


@bp.post("/activities/<int:activity_id>/registrations/<int:registration_id>/checkin")
@permission_required(PERMISSION)
def activity_registration_checkin(activity_id: int, registration_id: int) -> Any:
    staff = current_staff()
    activity = activity_for_staff(activity_id, staff)
    registration = registration_for_staff(activity, registration_id)
    return post_action(
        lambda: staff_check_in(registration, staff=staff), success="已签到", redirect_to=_to_list(activity_id)
    )


@bp.post("/activities/<int:activity_id>/no-shows")
@permission_required(PERMISSION)
def activity_no_shows(activity_id: int) -> Any:
    staff = current_staff()
    activity = activity_for_staff(activity_id, staff)
    return post_action(
        lambda: operations.mark_no_shows(activity, staff=staff),
        success=lambda n: f"已将 {n} 位未签到的会员标记为未到场",
        redirect_to=_to_list(activity_id),
    )


@bp.get("/activities/<int:activity_id>/sheet.xlsx")
@permission_required(PERMISSION)
def activity_sheet_xlsx(activity_id: int) -> Response:
    staff = current_staff()
    with unit_of_work():  # the export is audited
        activity = activity_for_staff(activity_id, staff)
        data, title = sheet_xlsx(export_sheet(activity, staff=staff)), activity.title
    return send_file(
        BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=f"{title}-实名制签到表.xlsx"
    )


@bp.get("/activities/<int:activity_id>/sheet")
@permission_required(PERMISSION)
def activity_sheet(activity_id: int) -> Any:
    staff = current_staff()
    with unit_of_work():  # the export is audited
        activity = activity_for_staff(activity_id, staff)
        sheet = export_sheet(activity, staff=staff)
    return render_template("admin/activities/sheet.html", activity=activity, sheet=sheet)
