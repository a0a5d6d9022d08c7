"""入会审核: pending join requests in scope; approve into a group (binds their WeChat) or reject; the
已处理 tab keeps the decided ones as history."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from admin.blueprint import FormResult, bp, current_staff, page_arg, permission_required, save_form
from admin.forms import ApproveJoinRequestForm, RejectJoinRequestForm, group_choices
from backend.db import count_rows
from backend.extensions import db
from backend.members.models import JoinRequest
from backend.members.operations import approve_join_request, reject_join_request
from backend.members.queries import (
    decided_join_requests,
    group_display_path,
    group_display_paths,
    group_for_staff,
    group_tree,
    join_request_for_reviewer,
    pending_join_requests,
)
from backend.staff.permissions import Permission
from backend.staff.queries import display_names

HISTORY_PER_PAGE = 50


@bp.get("/join-requests/")
@permission_required(Permission.review_join_requests)
def join_requests_list() -> Any:
    requests = db.session.scalars(pending_join_requests(current_staff())).all()
    return render_template(
        "admin/join_requests/list.html",
        tab="pending",
        requests=requests,
        pending_count=len(requests),
        display_path=group_display_path,
    )


@bp.get("/join-requests/history")
@permission_required(Permission.review_join_requests)
def join_requests_history() -> Any:
    staff = current_staff()
    query = decided_join_requests(staff)
    pagination = db.paginate(query, page=page_arg(), per_page=HISTORY_PER_PAGE, error_out=False)
    groups = [g for r in pagination.items for g in (r.group, r.member.group if r.member else None)]
    return render_template(
        "admin/join_requests/list.html",
        tab="decided",
        requests=pagination.items,
        pagination=pagination,
        pending_count=count_rows(pending_join_requests(staff)),
        paths=group_display_paths(groups),
        deciders=display_names(r.decided_by_id for r in pagination.items),
    )


def _forms(join_request: JoinRequest) -> tuple[ApproveJoinRequestForm, RejectJoinRequestForm]:
    approve_form = ApproveJoinRequestForm(prefix="approve")
    approve_form.group_id.choices = group_choices(group_tree(current_staff().scope))
    if request.method == "GET" and join_request.group_id is not None:
        approve_form.group_id.data = join_request.group_id
    return approve_form, RejectJoinRequestForm(prefix="reject")


def _decided(
    join_request: JoinRequest,
    forms: tuple[ApproveJoinRequestForm, RejectJoinRequestForm],
    result: FormResult[Any],
    done: str,
) -> Any:
    """Back to the list with `done` flashed once decided; otherwise the review page, with the refusal."""
    if result.saved:
        flash(done, "success")
        return redirect(url_for("admin.join_requests_list"))
    approve_form, reject_form = forms
    page = render_template(
        "admin/join_requests/review.html",
        join_request=join_request,
        approve_form=approve_form,
        reject_form=reject_form,
        group_path=group_display_path(join_request.group) if join_request.group else None,
        decider=display_names([join_request.decided_by_id]).get(join_request.decided_by_id or 0),
    )
    return page, result.status


@bp.route("/join-requests/<int:request_id>", methods=["GET"])
@permission_required(Permission.review_join_requests)
def join_request_review(request_id: int) -> Any:
    join_request = join_request_for_reviewer(request_id, current_staff())
    return _decided(join_request, _forms(join_request), FormResult(200), "")


@bp.post("/join-requests/<int:request_id>/approve")
@permission_required(Permission.review_join_requests)
def join_request_approve(request_id: int) -> Any:
    staff = current_staff()
    join_request = join_request_for_reviewer(request_id, staff)
    forms = _forms(join_request)
    approve_form, name = forms[0], join_request.name
    result = save_form(
        approve_form,
        lambda: approve_join_request(
            join_request,
            staff=staff,
            group=group_for_staff(approve_form.group_id.data, staff),
            comment=approve_form.comment.data or "",
        ),
    )
    return _decided(join_request, forms, result, f"已通过「{name}」的入会申请，其微信已绑定会员身份")


@bp.post("/join-requests/<int:request_id>/reject")
@permission_required(Permission.review_join_requests)
def join_request_reject(request_id: int) -> Any:
    staff = current_staff()
    join_request = join_request_for_reviewer(request_id, staff)
    forms = _forms(join_request)
    reject_form, name = forms[1], join_request.name
    result = save_form(
        reject_form,
        lambda: reject_join_request(join_request, staff=staff, comment=reject_form.comment.data or ""),
        field="comment",
    )
    return _decided(join_request, forms, result, f"已退回「{name}」的入会申请")
