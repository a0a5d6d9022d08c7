"""关怀慰问: the request queue in scope (schedule, close, release held text), visits (record with the policy
check and its override, the list of visits not yet confirmed by their member)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from admin.blueprint import (
    FORM_ERRORS,
    FormResult,
    bp,
    current_staff,
    page_arg,
    permission_required,
    post_action,
    save_form,
)
from admin.views.care_forms import CloseForm, ScheduleForm, VisitForm
from backend.care.models import CATEGORY_LABELS, RULE_LABELS, CareCategory, CareRequest, CareVisit
from backend.care.policy import festival_warning
from backend.care.queries import (
    file_of,
    member_for_care,
    request_for_staff,
    request_queue,
    staff_visits,
    visit_for_staff,
)
from backend.care.requests import close_request, release_request, schedule_request
from backend.care.visits import VisitDraft, record_visit
from backend.db import parse_id
from backend.errors import PermissionDenied
from backend.extensions import db
from backend.members.queries import group_display_path
from backend.money import parse_yuan
from backend.staff.permissions import Permission
from backend.uploads.storage import UploadRefused, send_upload, staged_uploads

PER_PAGE = 50


@bp.get("/care/requests")
@permission_required(Permission.manage_care)
def care_requests() -> Any:
    everything = request.args.get("tab") == "all"
    query = request_queue(current_staff(), open_only=not everything)
    pagination = db.paginate(query, page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template(
        "admin/care/requests.html", pagination=pagination, tab="all" if everything else "open"
    )


def _request_page(care_request: CareRequest, schedule: ScheduleForm, close: CloseForm, status: int) -> Any:
    page = render_template(
        "admin/care/request.html",
        r=care_request,
        schedule_form=schedule,
        close_form=close,
        group_path=group_display_path(care_request.member.group),
    )
    return page, status


@bp.get("/care/requests/<int:request_id>")
@permission_required(Permission.manage_care)
def care_request(request_id: int) -> Any:
    care_request = request_for_staff(request_id, current_staff())
    return _request_page(care_request, ScheduleForm(prefix="s"), CloseForm(prefix="c"), 200)


@bp.post("/care/requests/<int:request_id>/schedule")
@permission_required(Permission.manage_care)
def care_request_schedule(request_id: int) -> Any:
    staff = current_staff()
    care_request = request_for_staff(request_id, staff)
    form = ScheduleForm(prefix="s")
    result = save_form(
        form,
        lambda: schedule_request(
            care_request, staff=staff, on=form.scheduled_on.data, visitors=form.visitors.data
        ),
        field="scheduled_on",
    )
    if result.saved:
        flash("已安排走访，并通知了会员", "success")
        return redirect(url_for("admin.care_request", request_id=request_id))
    return _request_page(care_request, form, CloseForm(prefix="c"), result.status)


@bp.post("/care/requests/<int:request_id>/close")
@permission_required(Permission.manage_care)
def care_request_close(request_id: int) -> Any:
    staff = current_staff()
    care_request = request_for_staff(request_id, staff)
    form = CloseForm(prefix="c")
    result = save_form(
        form, lambda: close_request(care_request, staff=staff, reason=form.reason.data), field="reason"
    )
    if result.saved:
        flash("申请已关闭，并通知了会员", "success")
        return redirect(url_for("admin.care_requests"))
    return _request_page(care_request, ScheduleForm(prefix="s"), form, result.status)


@bp.post("/care/requests/<int:request_id>/release")
@permission_required(Permission.manage_care)
def care_request_release(request_id: int) -> Any:
    staff = current_staff()
    care_request = request_for_staff(request_id, staff)
    here = url_for("admin.care_request", request_id=request_id)
    return post_action(
        lambda: release_request(care_request, staff=staff), success="内容已审核通过", redirect_to=here
    )


# --- visits --------------------------------------------------------------------------------------------


@bp.get("/care/visits")
@permission_required(Permission.record_care_visits)
def care_visits() -> Any:
    unconfirmed = request.args.get("unconfirmed") == "1"
    category = request.args.get("category")
    chosen = CareCategory(category) if category in CareCategory.__members__ else None
    query = staff_visits(current_staff(), unconfirmed=unconfirmed, category=chosen)
    pagination = db.paginate(query, page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template(
        "admin/care/visits.html",
        pagination=pagination,
        unconfirmed=unconfirmed,
        category=chosen.value if chosen else "",
        categories=list(CATEGORY_LABELS.items()),
    )


@bp.get("/care/visits/<int:visit_id>")
@permission_required(Permission.record_care_visits)
def care_visit(visit_id: int) -> Any:
    visit = visit_for_staff(visit_id, current_staff())
    rules = [RULE_LABELS.get(code, code) for code in visit.override_rules or []]
    return render_template(
        "admin/care/visit.html", v=visit, rules=rules, group_path=group_display_path(visit.group)
    )


def _visit_form() -> tuple[VisitForm, Any, CareRequest | None]:
    staff = current_staff()
    form = VisitForm()
    member = member_for_care(parse_id(request.values.get("member_id")), staff)
    request_id = parse_id(request.values.get("request_id"))
    care_request = request_for_staff(request_id, staff) if request_id else None
    if care_request is not None and care_request.member_id != member.id:
        care_request = None
    if request.method == "GET":
        form.member_id.data, form.request_id.data = member.id, care_request.id if care_request else ""
        if request.args.get("category") in CareCategory.__members__:  # the due list's links
            form.category.data = request.args["category"]
        if care_request is not None:
            form.category.data, form.event_on.data = care_request.category.value, care_request.occurred_on
    return form, member, care_request


def _save_visit(form: VisitForm, member: Any, care_request: CareRequest | None) -> CareVisit:
    draft = VisitDraft(
        member=member,
        category=CareCategory(form.category.data),
        visited_on=form.visited_on.data,
        visitors=form.visitors.data,
        gift=form.gift.data or "",
        amount_fen=parse_yuan(form.amount.data) or 0,
        is_cash=form.is_cash.data,
        notes=form.notes.data or "",
        event_on=form.event_on.data,
    )
    files = [(s.stream, s.filename) for s in form.photos.data or [] if s and s.filename]
    with staged_uploads(files) as staged:
        return record_visit(
            draft,
            staff=current_staff(),
            override_reason=form.override_reason.data or "",
            request=care_request,
            photos=staged,
        )


@bp.route("/care/visits/new", methods=["GET", "POST"])
@permission_required(Permission.record_care_visits)
def care_visit_new() -> Any:
    form, member, care_request = _visit_form()
    result: FormResult[Any] = save_form(
        form,
        lambda: _save_visit(form, member, care_request),
        errors=(PermissionDenied, UploadRefused, *FORM_ERRORS),
        field="override_reason",
    )
    if result.saved and result.value is not None:
        flash("慰问已登记，会员会收到签收提醒", "success")
        return redirect(url_for("admin.care_visit", visit_id=result.value.id))
    warning = festival_warning(member, form.visited_on.data.year) if form.visited_on.data else None
    page = render_template(
        "admin/care/visit_form.html", form=form, member=member, care_request=care_request, warning=warning
    )
    return page, result.status


@bp.get("/care/requests/<int:request_id>/files/<int:upload_id>")
@permission_required(Permission.manage_care)
def care_request_file(request_id: int, upload_id: int) -> Any:
    care_request = request_for_staff(request_id, current_staff())
    # Office PCs are shared: no copy of a staff download may stay in the browser's cache.
    return send_upload(file_of(care_request.attachments, upload_id), shared_computer=True)


@bp.get("/care/visits/<int:visit_id>/photos/<int:upload_id>")
@permission_required(Permission.record_care_visits)
def care_visit_photo(visit_id: int, upload_id: int) -> Any:
    visit = visit_for_staff(visit_id, current_staff())
    return send_upload(file_of(visit.photos, upload_id), shared_computer=True)
