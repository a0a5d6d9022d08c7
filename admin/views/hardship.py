"""困难帮扶: the review queue by state and scope, the application page (each view audited) with its
timeline, attachments and the actions this viewer may take now, and those actions."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, render_template, request, url_for

from admin.blueprint import bp, current_staff, page_arg, permission_required, post_action
from backend.db import unit_of_work
from backend.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from backend.extensions import db
from backend.hardship import review
from backend.hardship.limits import AMOUNT_MAX_FEN, COMMENT_MAX
from backend.hardship.models import PAYMENT_METHOD_LABELS, STATUS_LABELS, TIER_LABELS, PaymentMethod, Status
from backend.hardship.payments import record_payment
from backend.hardship.queries import (
    actions_for,
    attachment_for_staff,
    computed_tier_now,
    publicity_list,
    queue,
    queue_counts,
    view_application,
)
from backend.hardship.standards import today
from backend.hardship.tiering import OVERRIDE_TIERS, override_tier
from backend.hardship.workflow import TRANSITIONS, Action
from backend.members.queries import group_display_path
from backend.money import parse_yuan
from backend.staff.permissions import Permission
from backend.uploads.storage import send_upload

PER_PAGE = 50
REFUSALS = (ValidationFailed, Conflict, PermissionDenied)


def mask_name(name: str | None) -> str:
    """张*：enough for staff to find a case in the list; the full name is on the (audited) page."""
    return (name[0] + "*" * max(len(name) - 1, 1)) if name else "（已注销）"


def yuan_to_fen(text: str | None, field: str = "amount") -> int:
    try:
        fen = parse_yuan(text) or 0
    except ValueError:
        fen = 0
    if fen <= 0 or fen > AMOUNT_MAX_FEN:
        raise ValidationFailed("请填写正确的金额（元，最多两位小数）", errors={field: ["请填写正确的金额"]})
    return fen


def _date(text: str | None) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return today()


@bp.get("/hardship/")
@permission_required(Permission.review_hardship)
def hardship_queue() -> Any:
    staff = current_staff()
    status = request.args.get("status")
    chosen = Status(status) if status in STATUS_LABELS and status != "draft" else None
    pagination = db.paginate(queue(staff, chosen), page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template(
        "admin/hardship/queue.html",
        pagination=pagination,
        counts=queue_counts(staff),
        labels={k: v for k, v in STATUS_LABELS.items() if k != "draft"},
        status=chosen.value if chosen else None,
        mask_name=mask_name,
        display_path=group_display_path,
    )


@bp.get("/hardship/publicity")
@permission_required(Permission.review_hardship)
def hardship_publicity() -> Any:
    return render_template(
        "admin/hardship/publicity.html",
        rows=publicity_list(current_staff()),
        mask_name=mask_name,
        display_path=group_display_path,
    )


@bp.get("/hardship/<int:application_id>")
@permission_required(Permission.review_hardship)
def hardship_application(application_id: int) -> Any:
    staff = current_staff()
    with unit_of_work():
        application = view_application(application_id, staff)
    return render_template(
        "admin/hardship/application.html",
        a=application,
        actions=actions_for(staff, application),
        computed=computed_tier_now(application),
        tier_labels=TIER_LABELS,
        override_tiers=OVERRIDE_TIERS,
        comment_max=COMMENT_MAX,
        transitions=TRANSITIONS,
        methods=PAYMENT_METHOD_LABELS,
        labels=STATUS_LABELS,
        today=today(),
        group_path=group_display_path(application.group),
    )


@bp.get("/hardship/<int:application_id>/attachments/<int:upload_id>")
@permission_required(Permission.review_hardship)
def hardship_attachment(application_id: int, upload_id: int) -> Any:
    with unit_of_work():
        upload = attachment_for_staff(application_id, upload_id, current_staff())
    return send_upload(upload, shared_computer=True)


def _operation(action: Action, application_id: int) -> Any:
    staff, form = current_staff(), request.form
    comment = form.get("comment", "")
    ops = {
        Action.return_: lambda: review.return_application(application_id, staff=staff, comment=comment),
        Action.first_approve: lambda: review.first_approve(application_id, staff=staff, comment=comment),
        Action.reject: lambda: review.reject(application_id, staff=staff, comment=comment),
        Action.start_publicity: lambda: review.start_publicity(application_id, staff=staff),
        Action.record_objection: lambda: review.record_objection(
            application_id, staff=staff, content=comment
        ),
        Action.final_approve: lambda: review.final_approve(
            application_id, staff=staff, amount_fen=yuan_to_fen(form.get("amount")), comment=comment
        ),
        Action.final_reject: lambda: review.final_reject(application_id, staff=staff, comment=comment),
        Action.override_tier: lambda: override_tier(
            application_id, staff=staff, tier=form.get("tier"), reason=comment
        ),
        Action.pay: lambda: record_payment(
            application_id,
            staff=staff,
            amount_fen=yuan_to_fen(form.get("amount")),
            paid_on=_date(form.get("paid_on")),
            method=PaymentMethod(form.get("method"))
            if form.get("method") in PAYMENT_METHOD_LABELS
            else PaymentMethod.other,
            reference=form.get("reference", ""),
        ),
    }
    return ops[action]


def refusal_text(error: DomainError) -> str:
    details = [text for texts in (error.errors or {}).values() for text in texts]
    return "；".join(details) if details and error.message == ValidationFailed.message else error.message


@bp.post("/hardship/<int:application_id>/<action>")
@permission_required(Permission.review_hardship)
def hardship_act(application_id: int, action: str) -> Any:
    if action not in {a.value for a in Action} or action == Action.end_publicity.value:
        abort(404)
    chosen = Action(action)
    return post_action(
        _operation(chosen, application_id),
        success=f"已{TRANSITIONS[chosen].label}",
        redirect_to=url_for("admin.hardship_application", application_id=application_id),
        refused=refusal_text,
        errors=REFUSALS,
    )
