"""A roster file between its check (检查, a dry run) and the staff member's confirmation.

The file waits in UPLOAD_DIR (the shared volume, so any web machine can finish the import) under a
random id; the door keeps that id where only the uploading browser session knows it. A file not
confirmed within PENDING_TTL_SECONDS is purged.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app

from backend.extensions import db
from backend.members.roster.importing import ImportReport, import_rows
from backend.members.roster.reading import read_rows

if TYPE_CHECKING:
    from backend.staff.models import Staff

PENDING_TTL_SECONDS = 3600


def _pending_dir() -> Path:
    directory = Path(current_app.config["UPLOAD_DIR"]) / "roster-pending"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _path(upload_id: str) -> Path:
    return _pending_dir() / f"{upload_id}.bin"


def check_file(data: bytes, filename: str, *, staff: Staff) -> ImportReport:
    """The dry run: the report an import would give, and nothing written (whatever the importer
    flushed is rolled back). An unreadable file raises ValidationFailed."""
    try:
        return import_rows(read_rows(data, filename), staff=staff, dry_run=True)
    finally:
        db.session.rollback()


def park(data: bytes) -> str:
    """Keeps a checked file for its confirmation; the id to take it back with."""
    upload_id = secrets.token_urlsafe(18)
    _path(upload_id).write_bytes(data)
    return upload_id


def take(upload_id: str) -> bytes | None:
    """The parked file, or None once it has expired (purged) or was never parked."""
    path = _path(upload_id)
    return path.read_bytes() if path.exists() else None


def discard(upload_id: str) -> None:
    _path(upload_id).unlink(missing_ok=True)


def purge_stale() -> None:
    cutoff = time.time() - PENDING_TTL_SECONDS
    for path in _pending_dir().glob("*.bin"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
