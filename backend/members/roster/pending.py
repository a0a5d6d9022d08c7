"""A roster file between its check (检查, a dry run) and the staff member's confirmation.

The file waits in UPLOAD_DIR (the shared volume, so any web machine can finish the import) under a
random id; the door keeps that id where only the uploading browser session knows it. Beside it, under
the same id, waits the check's report (who will be added, updated, moved; the rows refused), which the
check page reads a page at a time. A file or report not confirmed within PENDING_TTL_SECONDS is purged.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app

from backend.extensions import db
from backend.members.roster.importing import ImportReport, RowChange, RowError, import_rows
from backend.members.roster.reading import read_rows

if TYPE_CHECKING:
    from backend.staff.models import Staff

PENDING_TTL_SECONDS = 3600


def _pending_dir(name: str = "roster-pending") -> Path:
    directory = Path(current_app.config["UPLOAD_DIR"]) / name
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _path(upload_id: str) -> Path:
    return _pending_dir() / f"{upload_id}.bin"


def _preview_path(upload_id: str) -> Path:
    return _pending_dir("roster-previews") / f"{upload_id}.json"


def check_file(data: bytes, filename: str, *, staff: Staff) -> ImportReport:
    """The dry run: the report an import would give, and nothing written (whatever the importer
    flushed is rolled back). An unreadable file raises ValidationFailed."""
    try:
        return import_rows(read_rows(data, filename), staff=staff, dry_run=True)
    finally:
        db.session.rollback()


def park(report: ImportReport, data: bytes | None) -> str:
    """Keeps a check's report, and the file when there is something to import; the id of both."""
    upload_id = secrets.token_urlsafe(18)
    _preview_path(upload_id).write_text(json.dumps(asdict(report), ensure_ascii=False), encoding="utf-8")
    if data is not None:
        _path(upload_id).write_bytes(data)
    return upload_id


def preview(upload_id: str) -> ImportReport | None:
    """The parked check's report, or None once it has expired."""
    path = _preview_path(upload_id)
    if not path.exists():
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    report = ImportReport(**{k: v for k, v in saved.items() if k not in ("errors", "changes")})
    report.errors = [RowError(**e) for e in saved["errors"]]
    report.changes = [RowChange(**c) for c in saved["changes"]]
    return report


def take(upload_id: str) -> bytes | None:
    """The parked file, or None once it has expired (purged) or was never parked."""
    path = _path(upload_id)
    return path.read_bytes() if path.exists() else None


def discard(upload_id: str) -> None:
    _path(upload_id).unlink(missing_ok=True)
    _preview_path(upload_id).unlink(missing_ok=True)


def purge_stale() -> None:
    cutoff = time.time() - PENDING_TTL_SECONDS
    for path in [*_pending_dir().glob("*.bin"), *_pending_dir("roster-previews").glob("*.json")]:
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
