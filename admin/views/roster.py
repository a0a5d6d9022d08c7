"""导入名册: upload an Excel/CSV roster, check it (dry run), then confirm the import.

Between the check and the confirmation the file waits (backend/members/roster/pending.py) under a
random id that only this browser session knows.
"""

from __future__ import annotations

import secrets
from io import BytesIO
from pathlib import Path
from typing import Any

from flask import Response, abort, flash, redirect, render_template, send_file, session, url_for

from admin.blueprint import bp, current_staff, permission_required
from admin.forms import RosterConfirmForm, RosterUploadForm
from backend.db import unit_of_work
from backend.errors import ValidationFailed
from backend.members.roster import import_rows, pending, read_rows, reading, template_bytes
from backend.staff.permissions import Permission

SESSION_KEY = "roster_upload"
# Werkzeug adds "; charset=utf-8" to text/* types itself: naming it here too sent it twice.
TEMPLATE_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
}


def _forget_pending() -> None:
    """Drops this session's waiting file (and any other that has expired)."""
    waiting = session.pop(SESSION_KEY, None)
    if waiting:
        pending.discard(waiting["id"])
    pending.purge_stale()


# What the reader reads of a file (backend/members/roster/reading.py), as the upload page tells staff.
READING_LIMITS = {
    "rows": reading.MAX_ROWS,
    "header_rows": reading.HEADER_SEARCH_ROWS,
    "columns": reading.HEADER_SEARCH_COLUMNS,
    "blank_rows": reading.BLANK_RUN_ENDS_TABLE,
    "unpacked_mb": reading.MAX_XLSX_UNPACKED_BYTES // (1024 * 1024),
}


def _upload_page(form: RosterUploadForm, status: int = 200) -> Any:
    return render_template("admin/roster/upload.html", form=form, limits=READING_LIMITS), status


@bp.get("/roster/")
@permission_required(Permission.import_roster)
def roster_upload() -> Any:
    return _upload_page(RosterUploadForm())


@bp.get("/roster/template.<any(xlsx, csv):fmt>")
@permission_required(Permission.import_roster)
def roster_template(fmt: str) -> Response:
    return send_file(
        BytesIO(template_bytes(fmt)),
        mimetype=TEMPLATE_TYPES[fmt],
        as_attachment=True,
        download_name=f"会员名册模板.{fmt}",
    )


@bp.post("/roster/check")
@permission_required(Permission.import_roster)
def roster_check() -> Any:
    form = RosterUploadForm()
    if not form.validate():
        return _upload_page(form, 422)
    filename, data = Path(form.file.data.filename or "").name, form.file.data.read()
    try:
        report = pending.check_file(data, filename, staff=current_staff())
    except ValidationFailed as error:
        form.file.errors = [*form.file.errors, error.message]
        return _upload_page(form, 422)
    _forget_pending()
    confirm = None
    if report.created or report.updated:
        session[SESSION_KEY] = {"id": pending.park(data), "filename": filename}
        confirm = RosterConfirmForm(data={"upload_id": session[SESSION_KEY]["id"]})
    return render_template(
        "admin/roster/report.html", report=report, filename=filename, dry_run=True, confirm_form=confirm
    )


@bp.post("/roster/import")
@permission_required(Permission.import_roster)
def roster_import() -> Any:
    form = RosterConfirmForm()
    waiting = session.get(SESSION_KEY)
    # The id must be the one this session uploaded: nobody can import someone else's waiting file.
    if not form.validate() or not waiting or not secrets.compare_digest(waiting["id"], form.upload_id.data):
        abort(404)
    filename, data = waiting["filename"], pending.take(waiting["id"])
    try:
        if data is None:
            flash("上传的文件已过期，请重新上传", "warning")
            return redirect(url_for("admin.roster_upload"))
        with unit_of_work():
            report = import_rows(read_rows(data, filename), staff=current_staff(), dry_run=False)
    except ValidationFailed as error:
        flash(error.message, "error")
        return redirect(url_for("admin.roster_upload"))
    finally:
        _forget_pending()
    flash(f"导入完成：新增 {report.created} 人，更新 {report.updated} 人", "success")
    return render_template("admin/roster/report.html", report=report, filename=filename, dry_run=False)
