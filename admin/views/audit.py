"""审计日志: the audit log, newest first, filtered, exported to Excel. Read-only: no route here writes
to it except the export, which records itself.

Who may read it and which rows: backend/audit/queries.py (the admin and the chair, by scope).
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from typing import Any

from flask import Response, flash, redirect, render_template, request, send_file, url_for
from wtforms import SelectChoice

from admin.blueprint import bp, current_staff, page_arg, permission_required
from admin.forms import AuditFilterForm
from backend.audit.export import export_audit_log
from backend.audit.labels import ACTION_LABELS, OBJECT_TYPE_LABELS, action_label, actor_text, describe_detail
from backend.audit.models import AuditLog
from backend.audit.names import ObjectNames, names_for
from backend.audit.queries import AuditFilters, audit_entries, staff_choices
from backend.db import SHANGHAI, unit_of_work
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.staff.models import Staff
from backend.staff.permissions import Permission

PERMISSION = Permission.view_audit_log
PER_PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILTER_ARGS = ("staff_id", "action", "object_type", "object_id", "date_from", "date_to")

# Rows about these records link to their pages (which check scope themselves), for roles that have them.
TARGET_PAGES = {
    "members": ("admin.member_detail", "member_id", Permission.view_members),
    "announcements": ("admin.announcement_detail", "announcement_id", Permission.manage_announcements),
    "join_requests": ("admin.join_request_review", "request_id", Permission.review_join_requests),
    "staff": ("admin.staff_edit", "staff_id", Permission.manage_staff),
}


def _choices(labels: dict[str, str], asked: str) -> list[SelectChoice]:
    # A code without a label (an action added later, an old bookmark) is still a valid filter.
    extra = {asked: asked} if asked and asked not in labels and len(asked) <= 64 else {}
    items = {**labels, **extra}
    return [SelectChoice("", "全部"), *(SelectChoice(code, label) for code, label in items.items())]


def _filter_form(viewer: Staff) -> AuditFilterForm:
    form = AuditFilterForm(formdata=request.args)
    form.staff_id.choices = [
        SelectChoice("", "全部"),
        *(SelectChoice(str(s.id), f"{s.display_name}（{s.username}）") for s in staff_choices(viewer)),
    ]
    form.action.choices = _choices(ACTION_LABELS, request.args.get("action", ""))
    form.object_type.choices = _choices(OBJECT_TYPE_LABELS, request.args.get("object_type", ""))
    return form


def _filters(form: AuditFilterForm) -> AuditFilters:
    return AuditFilters(
        staff_id=int(form.staff_id.data) if form.staff_id.data else None,
        action=form.action.data or None,
        object_type=form.object_type.data or None,
        object_id=int(form.object_id.data) if form.object_id.data else None,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
    )


def _target_url(entry: AuditLog, viewer: Staff, names: ObjectNames) -> str | None:
    page = TARGET_PAGES.get(entry.object_type)
    if page is None or not names.visible(entry) or not viewer.can(page[2]):
        return None
    endpoint, argument, _ = page
    return url_for(endpoint, **{argument: entry.object_id})


def _row(entry: AuditLog, viewer: Staff, names: ObjectNames) -> dict[str, Any]:
    return {
        "at": entry.at,
        "actor": actor_text(entry),
        "action": action_label(entry.action),
        "target": names.target(entry),
        "target_url": _target_url(entry, viewer, names),
        "detail": describe_detail(entry, names),
        "ip": "命令行" if entry.ip == "cli" else entry.ip,
        "user_agent": entry.user_agent,
    }


def _filter_args() -> dict[str, str]:
    return {name: request.args[name] for name in FILTER_ARGS if request.args.get(name)}


@bp.get("/audit/")
@permission_required(PERMISSION)
def audit_list() -> Any:
    viewer = current_staff()
    form = _filter_form(viewer)
    if not form.validate():
        return render_template("admin/audit/list.html", form=form, pagination=None, rows=[], args={}), 422
    page = page_arg()
    pagination = db.paginate(
        audit_entries(viewer, _filters(form)), page=page, per_page=PER_PAGE, error_out=False
    )
    names = names_for(pagination.items, viewer)
    return render_template(
        "admin/audit/list.html",
        form=form,
        pagination=pagination,
        rows=[_row(entry, viewer, names) for entry in pagination.items],
        args=_filter_args(),
    )


@bp.get("/audit/export.xlsx")
@permission_required(PERMISSION)
def audit_export() -> Any:
    viewer = current_staff()
    form = _filter_form(viewer)
    if not form.validate():
        flash("筛选条件有误，请修改后再导出", "error")
        return redirect(url_for("admin.audit_list", **_filter_args()))
    try:
        with unit_of_work():
            data, _ = export_audit_log(viewer, _filters(form))
    except ValidationFailed as error:
        flash(error.message, "error")
        return redirect(url_for("admin.audit_list", **_filter_args()))
    stamp = datetime.now(SHANGHAI).strftime("%Y%m%d-%H%M")
    response: Response = send_file(
        BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=f"审计日志-{stamp}.xlsx"
    )
    return response
