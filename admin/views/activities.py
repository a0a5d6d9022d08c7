"""活动报名: create, edit, publish, cancel and copy activities; their check-in poster and figures.

Staff manage an activity whose whole audience lies within their scope ("whole union" only for whoever
holds the root); anything else is 404. The registrations are in activities_registrations.py.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for

from admin.blueprint import (
    FORM_ERRORS,
    bp,
    current_staff,
    page_arg,
    permission_required,
    post_action,
    save_form,
)
from admin.charts import share_chart
from admin.forms import TO_GROUPS, EmptyForm
from admin.views.activities_forms import ActivityForm, ReasonForm
from backend.activities import operations
from backend.activities.checkin import checkin_token
from backend.activities.figures import activity_figures
from backend.activities.models import CATEGORY_LABELS, STATUS_LABELS, Activity, ActivityCategory, Allocation
from backend.activities.operations import ActivityDraft
from backend.activities.queries import activity_for_staff, staff_activities, waitlist_counts
from backend.db import utcnow
from backend.extensions import db
from backend.members.queries import group_tree
from backend.staff.permissions import Permission
from backend.uploads.operations import store_upload
from backend.uploads.storage import UploadRefused, staged_upload
from backend.wechat.gateway import WechatError, gateway

PERMISSION = Permission.manage_activities
PER_PAGE = 20


def _form(activity: Activity | None = None) -> ActivityForm:
    staff = current_staff()
    form = ActivityForm()
    form.groups.set_tree(group_tree(staff.scope))
    if not staff.holds_whole_union:
        form.audience.choices = [TO_GROUPS]
    if request.method == "GET":
        if activity is not None:
            form.fill(activity)
        else:
            form.audience.data = "union" if staff.holds_whole_union else "groups"
            form.groups.data = [] if staff.holds_whole_union else [staff.scope.id]
    return form


def _draft(form: ActivityForm) -> ActivityDraft:
    times = form.times()
    return ActivityDraft(
        title=form.title.data or "",
        category=ActivityCategory(form.category.data),
        description_html=form.description_html.data or "",
        location=form.location.data or "",
        starts_at=times["starts_at"],  # type: ignore[arg-type]
        ends_at=times["ends_at"],  # type: ignore[arg-type]
        registration_opens_at=times["registration_opens_at"],  # type: ignore[arg-type]
        registration_closes_at=times["registration_closes_at"],  # type: ignore[arg-type]
        cancel_deadline=times["cancel_deadline"],
        capacity=form.capacity.data,
        max_companions=form.max_companions.data or 0,
        allocation=Allocation(form.allocation.data),
        waitlist_enabled=bool(form.waitlist_enabled.data),
        checkin_required=bool(form.checkin_required.data),
        whole_union=form.audience.data == "union",
        group_ids=list(form.groups.data or []),
        form_fields=getattr(form, "parsed_fields", []),
    )


def _save(form: ActivityForm, activity: Activity | None) -> Activity:
    staff, storage = current_staff(), form.cover.data
    if storage and storage.filename:
        with staged_upload(storage.stream, storage.filename) as staged:
            cover = store_upload(staged, staff=staff, attach=True)
            return operations.save_activity(activity, _draft(form), staff=staff, cover=cover)
    return operations.save_activity(activity, _draft(form), staff=staff)


def _submit(form: ActivityForm, activity: Activity | None, done: str) -> Any:
    result = save_form(
        form, lambda: _save(form, activity), errors=(*FORM_ERRORS, UploadRefused), field="cover"
    )
    if result.saved and result.value is not None:
        flash(done, "success")
        return redirect(url_for("admin.activity_detail", activity_id=result.value.id))
    return render_template("admin/activities/form.html", form=form, activity=activity), result.status


@bp.get("/activities/")
@permission_required(PERMISSION)
def activities_list() -> Any:
    status = request.args.get("status", "")
    status = status if status in STATUS_LABELS else ""
    query = staff_activities(current_staff(), status=status or None)
    pagination = db.paginate(query, page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template(
        "admin/activities/list.html",
        pagination=pagination,
        activities=pagination.items,
        waitlisted=waitlist_counts([a.id for a in pagination.items]),
        status=status,
        statuses=STATUS_LABELS,
        now=utcnow(),
    )


@bp.route("/activities/new", methods=["GET", "POST"])
@permission_required(PERMISSION)
def activity_new() -> Any:
    return _submit(_form(), None, "活动已保存为草稿，请核对后发布")


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@permission_required(PERMISSION)
def activity_edit(activity_id: int) -> Any:
    activity = activity_for_staff(activity_id, current_staff())
    return _submit(_form(activity), activity, "活动已保存")


@bp.get("/activities/<int:activity_id>")
@permission_required(PERMISSION)
def activity_detail(activity_id: int) -> Any:
    activity = activity_for_staff(activity_id, current_staff())
    return render_template(
        "admin/activities/detail.html",
        activity=activity,
        categories=CATEGORY_LABELS,
        waitlisted=waitlist_counts([activity.id]).get(activity.id, 0),
        action_form=EmptyForm(),
        cancel_form=ReasonForm(),
        now=utcnow(),
    )


def _back(activity_id: int) -> str:
    return url_for("admin.activity_detail", activity_id=activity_id)


@bp.post("/activities/<int:activity_id>/publish")
@permission_required(PERMISSION)
def activity_publish(activity_id: int) -> Any:
    staff = current_staff()
    activity = activity_for_staff(activity_id, staff)
    return post_action(
        lambda: operations.publish(activity, staff=staff),
        success="活动已发布",
        redirect_to=_back(activity_id),
    )


@bp.post("/activities/<int:activity_id>/cancel")
@permission_required(PERMISSION)
def activity_cancel(activity_id: int) -> Any:
    staff = current_staff()
    activity = activity_for_staff(activity_id, staff)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash("请填写取消的原因（会告诉已报名的会员）", "error")
        return redirect(_back(activity_id))
    return post_action(
        lambda: operations.cancel_activity(activity, staff=staff, reason=form.reason.data or ""),
        success=lambda told: f"活动已取消，已通知 {told} 位会员",
        redirect_to=_back(activity_id),
    )


@bp.post("/activities/<int:activity_id>/copy")
@permission_required(PERMISSION)
def activity_copy(activity_id: int) -> Any:
    staff = current_staff()
    activity = activity_for_staff(activity_id, staff)
    copied: list[int] = []

    def copy() -> None:
        copied.append(operations.copy_activity(activity, staff=staff).id)

    response = post_action(copy, success="已复制为新的草稿，请修改时间后发布", redirect_to=_back(activity_id))
    return redirect(url_for("admin.activity_edit", activity_id=copied[0])) if copied else response


@bp.get("/activities/<int:activity_id>/poster")
@permission_required(PERMISSION)
def activity_poster(activity_id: int) -> Any:
    activity = activity_for_staff(activity_id, current_staff())
    return render_template("admin/activities/poster.html", activity=activity, token=checkin_token(activity))


@bp.get("/activities/<int:activity_id>/poster.png")
@permission_required(PERMISSION)
def activity_poster_image(activity_id: int) -> Any:
    activity = activity_for_staff(activity_id, current_staff())
    page = current_app.config["ACTIVITY_CHECKIN_PAGE"]
    try:
        image = gateway.get_wxa_code_unlimited(checkin_token(activity), page, width=600)
    except WechatError:
        return Response("微信暂时无法生成小程序码，请稍后刷新", status=503, mimetype="text/plain")
    return Response(image, mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.get("/activities/<int:activity_id>/figures")
@permission_required(PERMISSION)
def activity_figures_page(activity_id: int) -> Any:
    activity = activity_for_staff(activity_id, current_staff())
    rows, total = activity_figures(activity)
    chart = share_chart(
        [(row.name.split(" / ")[-1], row.rate, row.rate_percent) for row in rows if row.members]
    )
    return render_template(
        "admin/activities/figures.html", activity=activity, rows=rows, total=total, chart=chart
    )
