"""The upload directory as tests see it: emptied before each test that uses it, and listed."""

from __future__ import annotations

import shutil
from pathlib import Path

from flask import Flask


def empty_upload_dir(app: Flask) -> Path:
    """The session's UPLOAD_DIR with no upload files in it (the database is emptied per test already).

    Test modules wrap it in an `upload_dir` fixture.
    """
    root = Path(app.config["UPLOAD_DIR"])
    for part in ("files", "tmp"):
        shutil.rmtree(root / part, ignore_errors=True)
    return root


def stored_files(root: Path) -> list[Path]:
    """Every upload file, stored or half-received."""
    return sorted(p for part in ("files", "tmp") for p in (root / part).rglob("*") if p.is_file())
