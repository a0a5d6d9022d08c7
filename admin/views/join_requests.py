"""入会审核: pending join requests in scope; approve into a group (binds their WeChat) or reject."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from admin.blueprint import FORM_ERRORS, bp, current_staff, permission_required
from admin.forms import ApproveJoinRequestForm, RejectJoinRequestForm, group_choices
from admin.views.members import group_in_scope
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import JoinRequest
from backend.members.operations import approve_join_request, reject_join_request
from backend.members.queries import group_display_path, group_tree, pending_join_requests


def join_request_in_scope(request_id: int) -> JoinRequest:
    join_request = db.get_or_404(JoinRequest, request_id)
    if not current_staff().can_review(join_request):
        abort(404)
    return join_request


@bp.get("/join-requests/")
@permission_required("review_join_requests")
def join_requests_list() -> Any:
    requests = db.session.scalars(pending_join_requests(current_staff())).all()
    return render_template(
        "admin/join_requests/list.html", requests=requests, display_path=group_display_path
    )


@bp.route("/join-requests/<int:request_id>", methods=["GET"])
@permission_required("review_join_requests")
def join_request_review(request_id: int) -> Any:
    join_request = join_request_in_scope(request_id)
    approve_form, reject_form = _forms(join_request)
    return _render(join_request, approve_form, reject_form, 200)


def _forms(join_request: JoinRequest) -> tuple[ApproveJoinRequestForm, RejectJoinRequestForm]:
    approve_form = ApproveJoinRequestForm(prefix="approve")
    approve_form.group_id.choices = group_choices(group_tree(current_staff().scope))
    if request.method == "GET" and join_request.group_id is not None:
        approve_form.group_id.data = join_request.group_id
    return approve_form, RejectJoinRequestForm(prefix="reject")


def _render(
    join_request: JoinRequest,
    approve_form: ApproveJoinRequestForm,
    reject_form: RejectJoinRequestForm,
    status: int,
) -> Any:
    return (
        render_template(
            "admin/join_requests/review.html",
            join_request=join_request,
            approve_form=approve_form,
            reject_form=reject_form,
            group_path=group_display_path(join_request.group) if join_request.group else None,
        ),
        status,
    )


@bp.post("/join-requests/<int:request_id>/approve")
@permission_required("review_join_requests")
def join_request_approve(request_id: int) -> Any:
    join_request = join_request_in_scope(request_id)
    approve_form, reject_form = _forms(join_request)
    if not approve_form.validate():
        return _render(join_request, approve_form, reject_form, 422)
    try:
        with unit_of_work():
            group = group_in_scope(approve_form.group_id.data)
            approve_join_request(
                join_request, staff=current_staff(), group=group, comment=approve_form.comment.data or ""
            )
            name = join_request.name
    except FORM_ERRORS as error:
        approve_form.apply_error(error)
        return _render(join_request, approve_form, reject_form, error.status)
    flash(f"已通过「{name}」的入会申请，其微信已绑定会员身份", "success")
    return redirect(url_for("admin.join_requests_list"))


@bp.post("/join-requests/<int:request_id>/reject")
@permission_required("review_join_requests")
def join_request_reject(request_id: int) -> Any:
    join_request = join_request_in_scope(request_id)
    approve_form, reject_form = _forms(join_request)
    if not reject_form.validate():
        return _render(join_request, approve_form, reject_form, 422)
    try:
        with unit_of_work():
            reject_join_request(join_request, staff=current_staff(), comment=reject_form.comment.data or "")
            name = join_request.name
    except FORM_ERRORS as error:
        reject_form.apply_error(error, field="comment")
        return _render(join_request, approve_form, reject_form, error.status)
    flash(f"已退回「{name}」的入会申请", "success")
    return redirect(url_for("admin.join_requests_list"))
