"""Files under files/ that no upload row names (a process killed between the rename and the commit)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from backend.db import unit_of_work
from backend.extensions import db
from backend.uploads.models import Upload
from backend.uploads.operations import purge_unattached_uploads, remove_orphaned_files
from backend.uploads.storage import new_storage_name, stored_path
from tests.factories import PDF, make_member, make_upload, stored_files

DAY = 86400


def _age(path: Path, seconds: float) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def _file(path: Path, age: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PDF)
    return _age(path, age)


def _orphan(root: Path, age: float) -> Path:
    name = new_storage_name()
    return _file(root / "files" / name[:2] / name, age)


def _stored(app, member_id: int, age: float) -> Path:
    """An upload a form attached long ago: its row stays, and so must its old file."""
    upload_id = make_upload(app, member_id, name="a.pdf", attach=True)
    with app.app_context():
        return _age(stored_path(db.session.get(Upload, upload_id).storage_name), age)


def test_the_purge_removes_old_files_that_no_upload_row_names(app, union, upload_dir):
    member_id = make_member(app, union.group_a)
    with_row = _stored(app, member_id, age=30 * DAY)
    orphan = _orphan(upload_dir, age=2 * DAY)
    young = _orphan(upload_dir, age=20 * 3600)  # may belong to a transaction that has not committed yet
    stranger = _file(upload_dir / "files" / "ab" / "notes.txt", age=2 * DAY)  # not a name given out here

    with app.app_context(), unit_of_work():
        assert purge_unattached_uploads(now=datetime.now(UTC)) == 0
    assert stored_files(upload_dir) == sorted([with_row, young, stranger])
    assert not orphan.exists()


def test_orphans_are_looked_up_in_batches_never_all_at_once(app, union, upload_dir):
    member_id = make_member(app, union.group_a)
    kept = [_stored(app, member_id, age=3 * DAY) for _ in range(3)]
    orphans = [_orphan(upload_dir, age=3 * DAY) for _ in range(4)]
    looked_up: list[int] = []

    def count_names(conn, cursor, statement, parameters, context, executemany):
        if "uploads.storage_name IN" in statement:
            looked_up.append(len(parameters))

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count_names)
        try:
            assert remove_orphaned_files(older_than=timedelta(days=1), batch=3) == 4
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count_names)
    assert sorted(looked_up) == [1, 3, 3]
    assert stored_files(upload_dir) == sorted(kept)
    assert not any(path.exists() for path in orphans)


def test_an_empty_upload_dir_is_fine(app, upload_dir):
    with app.app_context():
        assert remove_orphaned_files() == 0
