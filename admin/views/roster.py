"""导入名册: upload an Excel/CSV roster, check it (dry run), then confirm the import.

Between the check and the confirmation the uploaded file waits in UPLOAD_DIR (the shared volume, so
any web machine can finish the import) under a random id that only this browser session knows.
"""

from __future__ import annotations

import secrets
import time
from io import BytesIO
from pathlib import Path
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, send_file, session, url_for

from admin.blueprint import bp, current_staff, permission_required
from admin.forms import RosterConfirmForm, RosterUploadForm
from backend.db import unit_of_work
from backend.errors import ValidationFailed
from backend.extensions import db

SESSION_KEY = "roster_upload"
PENDING_TTL_SECONDS = 3600
TEMPLATE_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def _roster() -> Any:
    # Imported when used: the importer lives in its own module, written alongside the admin.
    from backend.members import roster

    return roster


def _pending_dir() -> Path:
    directory = Path(current_app.config["UPLOAD_DIR"]) / "roster-pending"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _pending_path(upload_id: str) -> Path:
    return _pending_dir() / f"{upload_id}.bin"


def _purge_stale() -> None:
    cutoff = time.time() - PENDING_TTL_SECONDS
    for path in _pending_dir().glob("*.bin"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def _forget_pending() -> None:
    pending = session.pop(SESSION_KEY, None)
    if pending:
        _pending_path(pending["id"]).unlink(missing_ok=True)


@bp.get("/roster/")
@permission_required("import_roster")
def roster_upload() -> Any:
    return render_template("admin/roster/upload.html", form=RosterUploadForm())


@bp.get("/roster/template.<any(xlsx, csv):fmt>")
@permission_required("import_roster")
def roster_template(fmt: str) -> Response:
    return send_file(
        BytesIO(_roster().template_bytes(fmt)),
        mimetype=TEMPLATE_TYPES[fmt],
        as_attachment=True,
        download_name=f"会员名册模板.{fmt}",
    )


@bp.post("/roster/check")
@permission_required("import_roster")
def roster_check() -> Any:
    form = RosterUploadForm()
    if not form.validate():
        return render_template("admin/roster/upload.html", form=form), 422
    upload = form.file.data
    filename = Path(upload.filename or "").name
    data = upload.read()
    roster = _roster()
    try:
        rows = roster.read_rows(data, filename)
        report = roster.import_rows(rows, staff=current_staff(), dry_run=True)
    except ValidationFailed as error:
        form.file.errors = [*form.file.errors, error.message]
        return render_template("admin/roster/upload.html", form=form), 422
    finally:
        db.session.rollback()  # a dry run writes nothing, whatever the importer flushed

    _forget_pending()
    _purge_stale()
    confirm = None
    if report.created or report.updated:
        upload_id = secrets.token_urlsafe(18)
        _pending_path(upload_id).write_bytes(data)
        session[SESSION_KEY] = {"id": upload_id, "filename": filename}
        confirm = RosterConfirmForm(data={"upload_id": upload_id})
    return render_template(
        "admin/roster/report.html", report=report, filename=filename, dry_run=True, confirm_form=confirm
    )


@bp.post("/roster/import")
@permission_required("import_roster")
def roster_import() -> Any:
    form = RosterConfirmForm()
    pending = session.get(SESSION_KEY)
    # The id must be the one this session uploaded: nobody can import someone else's waiting file.
    if not form.validate() or not pending or not secrets.compare_digest(pending["id"], form.upload_id.data):
        abort(404)
    path = _pending_path(pending["id"])
    if not path.exists():
        session.pop(SESSION_KEY, None)
        flash("上传的文件已过期，请重新上传", "warning")
        return redirect(url_for("admin.roster_upload"))
    filename = pending["filename"]
    roster = _roster()
    try:
        rows = roster.read_rows(path.read_bytes(), filename)
        with unit_of_work():
            report = roster.import_rows(rows, staff=current_staff(), dry_run=False)
    except ValidationFailed as error:
        flash(error.message, "error")
        return redirect(url_for("admin.roster_upload"))
    finally:
        _forget_pending()
    flash(f"导入完成：新增 {report.created} 人，更新 {report.updated} 人", "success")
    return render_template("admin/roster/report.html", report=report, filename=filename, dry_run=False)
