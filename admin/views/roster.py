"""导入名册: upload an Excel/CSV roster, check it (a dry run whose lists are read page by page), confirm,
then follow the import, which runs as a background job (backend/members/roster/background.py), on its
own page: a progress bar that roster.js keeps up to date from the status endpoint, then the report.

Between the check and the confirmation the file and the check's report wait
(backend/members/roster/pending.py) under a random id that only this browser session knows.
"""

from __future__ import annotations

import secrets
from io import BytesIO
from pathlib import Path
from typing import Any

from flask import (
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)

from admin.blueprint import bp, current_staff, page_arg, permission_required
from admin.forms import RosterConfirmForm, RosterUploadForm
from admin.pagination import ListPage
from backend.db import unit_of_work
from backend.errors import ValidationFailed
from backend.members.roster import ImportReport, pending, reading, template_bytes
from backend.members.roster.background import (
    import_for_staff,
    progress_of,
    queue_import,
    recent_imports,
    report_of,
)
from backend.staff.permissions import Permission

SESSION_KEY = "roster_upload"
# Werkzeug adds "; charset=utf-8" to text/* types itself: naming it here too sent it twice.
TEMPLATE_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
}
PER_PAGE = 50
# The check page's lists, in the order a staff member reads them: what is wrong first.
CHECK_LISTS = {"errors": "有问题的行", "add": "将新增", "update": "将更新资料", "move": "将转会"}


def _page_of(items: list[Any]) -> ListPage:
    return ListPage(items, page=page_arg(), per_page=PER_PAGE)


def _forget_pending() -> None:
    """Drops this session's waiting file and report (and any other that has expired)."""
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
    "required": "、".join(reading.REQUIRED.values()),
}


def _upload_page(form: RosterUploadForm, status: int = 200) -> Any:
    recent = recent_imports(current_staff())
    return render_template(
        "admin/roster/upload.html", form=form, limits=READING_LIMITS, recent=recent
    ), status


def _check_page(report: ImportReport, upload_id: str, filename: str) -> str:
    lists: dict[str, list[Any]] = {"errors": report.errors, "add": [], "update": [], "move": []}
    for change in report.changes:
        lists[change.kind].append(change)
    shown = request.args.get("show", "")
    if shown not in lists:
        shown = next((name for name, items in lists.items() if items), "add")
    importable = bool(report.created or report.updated)
    return render_template(
        "admin/roster/report.html",
        report=report,
        filename=filename,
        dry_run=True,
        confirm_form=RosterConfirmForm(data={"upload_id": upload_id}) if importable else None,
        tabs={name: (label, len(lists[name])) for name, label in CHECK_LISTS.items()},
        shown=shown,
        page=_page_of(lists[shown]),
    )


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
    upload_id = pending.park(report, data if report.created or report.updated else None)
    session[SESSION_KEY] = {"id": upload_id, "filename": filename}
    return _check_page(report, upload_id, filename)


@bp.get("/roster/check")
@permission_required(Permission.import_roster)
def roster_preview() -> Any:
    """The check's lists, a page at a time (?show=add|update|move|errors&page=N)."""
    waiting = session.get(SESSION_KEY)
    report = pending.preview(waiting["id"]) if waiting else None
    if not waiting or report is None:
        flash("检查结果已过期，请重新上传文件", "warning")
        return redirect(url_for("admin.roster_upload"))
    return _check_page(report, waiting["id"], waiting["filename"])


@bp.post("/roster/import")
@permission_required(Permission.import_roster)
def roster_import() -> Any:
    form = RosterConfirmForm()
    waiting = session.get(SESSION_KEY)
    # The id must be the one this session uploaded: nobody can import someone else's waiting file.
    if not form.validate() or not waiting or not secrets.compare_digest(waiting["id"], form.upload_id.data):
        abort(404)
    data = pending.take(waiting["id"])
    _forget_pending()
    if data is None:
        flash("上传的文件已过期，请重新上传", "warning")
        return redirect(url_for("admin.roster_upload"))
    with unit_of_work():
        import_id = queue_import(data, waiting["filename"], staff=current_staff()).id
    # Without Redis the import has run by now (right after the commit); with Redis a worker has it.
    return redirect(url_for("admin.roster_import_progress", import_id=import_id), 303)


@bp.get("/roster/imports/<int:import_id>")
@permission_required(Permission.import_roster)
def roster_import_progress(import_id: int) -> Any:
    """A running import's progress bar (roster.js polls the status), or its report once finished."""
    job = import_for_staff(import_id, current_staff())
    report = report_of(job)
    return render_template(
        "admin/roster/import.html",
        job=job,
        report=report,
        progress=progress_of(job),
        page=_page_of(report.errors),
    )


@bp.get("/roster/imports/<int:import_id>/status")
@permission_required(Permission.import_roster)
def roster_import_status(import_id: int) -> Response:
    """JSON for roster.js: how far the import is (read from its row, so any web machine can answer)."""
    return jsonify(progress_of(import_for_staff(import_id, current_staff())))
