"""Where upload bytes live: received in memory, checked, encrypted (at_rest.py), written to a temporary
file, and only then moved into place.

Layout under UPLOAD_DIR (a shared volume when there are several web machines):
`tmp/` holds files being written; `files/ab/abcdef…` holds accepted files under random names, every
one encrypted with DATA_KEY (contents of health records, payslips, ID cards: never kept in plain).
Both are on one file system, so moving a checked file into place is one atomic rename.

A file moved into place belongs to the database transaction that writes its row: if that transaction
ends without committing (an error, a failed COMMIT, a session closed), the file is removed with it.
Only a process killed between the rename and the commit (or between deleting a row and its file) can
leave a file without a row; the daily purge removes those (`remove_orphaned_files` in operations.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from flask import Response, current_app, has_request_context, request, send_file
from sqlalchemy.orm import Session, SessionTransaction

from backend.errors import DomainError, NotFound
from backend.extensions import db
from backend.uploads.at_rest import read_plain, reseal, seal
from backend.uploads.models import TYPE_LABELS, Upload
from backend.uploads.sniff import clean_filename, sniff

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
STORAGE_NAME = re.compile(r"[0-9a-f]{32}")
_PLACED = "uploads_placed_files"


class UploadRefused(DomainError):
    """The file itself is refused (too big, wrong type, empty); nothing of it is kept."""


class UploadTooLarge(UploadRefused):
    status = 413
    code = "too_large"
    message = "文件太大"


class UnsupportedUploadType(UploadRefused):
    status = 415
    code = "unsupported_type"
    message = f"只能上传 {TYPE_LABELS}"


class EmptyUpload(UploadRefused):
    status = 422
    code = "validation_error"
    message = "文件是空的，请重新选择"


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{round(size / (1024 * 1024), 1):g} MB"
    return f"{max(round(size / 1024), 1)} KB"


def max_upload_bytes() -> int:
    return int(current_app.config["UPLOAD_MAX_BYTES"])


def member_pending_bytes() -> int | None:
    """How many bytes of uploads one member may have that nothing has attached yet; None: no cap (the
    setting left empty or 0, which would otherwise refuse every upload)."""
    return int(current_app.config["UPLOAD_MEMBER_PENDING_BYTES"] or 0) or None


def _root() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def _temp_dir() -> Path:
    directory = _root() / "tmp"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def stored_path(storage_name: str) -> Path:
    return _root() / "files" / storage_name[:2] / storage_name


def new_storage_name() -> str:
    return secrets.token_hex(16)


@dataclass
class StagedFile:
    """A received file that passed the checks, waiting in `tmp/` until its row is written."""

    temp_path: Path
    filename: str
    content_type: str
    size: int
    sha256: str
    placed_path: Path | None = None

    def place(self, storage_name: str) -> None:
        """Moves the file to its final name (call after the row is flushed, before the commit).

        It stays there only if the session's transaction commits.
        """
        target = stored_path(storage_name)
        target.parent.mkdir(parents=True, exist_ok=True)
        db.session.info.setdefault(_PLACED, []).append(target)
        os.replace(self.temp_path, target)
        self.placed_path = target


@sa.event.listens_for(db.session, "after_commit")
def _keep_committed_files(session: Session) -> None:
    if session.get_nested_transaction() is None:  # the whole transaction committed, not a SAVEPOINT
        session.info.pop(_PLACED, None)


@sa.event.listens_for(db.session, "after_transaction_end")
def _remove_uncommitted_files(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    for path in session.info.pop(_PLACED, []):
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.exception("could not remove %s, placed by a transaction that did not commit", path)


def _receive(stream: IO[bytes], max_bytes: int) -> bytes:
    """The whole file in memory (at most `max_bytes`, UPLOAD_MAX_BYTES): checked before it is encrypted."""
    received = bytearray()
    while chunk := stream.read(CHUNK):
        if len(received) + len(chunk) > max_bytes:
            raise UploadTooLarge(f"文件太大：每个文件不能超过 {human_size(max_bytes)}")
        received += chunk
    if not received:
        raise EmptyUpload(errors={"file": [EmptyUpload.message]})
    return bytes(received)


def _stage(stream: IO[bytes], filename: str | None, max_bytes: int) -> StagedFile:
    """Sniffs and hashes the plain bytes, then writes them to `tmp/` encrypted (at_rest.py)."""
    data = _receive(stream, max_bytes)
    content_type = sniff(data)
    if content_type is None:
        raise UnsupportedUploadType()
    temp_path = _temp_dir() / f"{new_storage_name()}.part"
    try:
        with temp_path.open("xb") as out:
            out.write(seal(data))
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    return StagedFile(
        temp_path=temp_path,
        filename=clean_filename(filename, content_type),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


@contextmanager
def staged_uploads(files: Sequence[tuple[IO[bytes], str | None]]) -> Iterator[list[StagedFile]]:
    """Receives and checks every file, then yields them; received files not placed go when it ends.

    A file placed inside the block (`store_upload`) stays only if its transaction commits, whether
    that commit happens inside the block or after it (an `idempotent` view's decorator commits later).
    """
    max_bytes = max_upload_bytes()
    staged: list[StagedFile] = []
    try:
        for stream, filename in files:
            staged.append(_stage(stream, filename, max_bytes))
        yield staged
    finally:
        for item in staged:
            item.temp_path.unlink(missing_ok=True)


@contextmanager
def staged_upload(stream: IO[bytes], filename: str | None) -> Iterator[StagedFile]:
    with staged_uploads([(stream, filename)]) as staged:
        yield staged[0]


def reseal_stored(storage_name: str) -> bool:
    """`flask rotate-data-key`: the file re-encrypted under the first DATA_KEY (or encrypted, if it was
    stored before encryption), swapped in by one atomic rename. False when the file is missing."""
    return reseal(stored_path(storage_name), _temp_dir(), f"{new_storage_name()}.part")


def remove_stored(storage_names: Sequence[str]) -> None:
    for name in storage_names:
        stored_path(name).unlink(missing_ok=True)


def remove_stale_temp_files(older_than_seconds: float) -> int:
    """Files left in `tmp/` by a process that died while receiving them."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in _temp_dir().glob("*.part"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # another machine's purge got it first
    return removed


def stored_names_older_than(older_than_seconds: float) -> Iterator[str]:
    """Storage names of the files under `files/` not modified for that long, one directory at a time.

    Only names this module gives out (32 hex digits, in their own 2-digit directory) are listed.
    """
    cutoff = time.time() - older_than_seconds
    root = _root() / "files"
    if not root.is_dir():
        return
    with os.scandir(root) as directories:
        for directory in directories:
            if not directory.is_dir(follow_symlinks=False):
                continue
            with os.scandir(directory.path) as entries:
                for entry in entries:
                    if not (STORAGE_NAME.fullmatch(entry.name) and entry.name[:2] == directory.name):
                        continue
                    try:
                        if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                            yield entry.name
                    except FileNotFoundError:
                        continue  # removed meanwhile


def _plain_bytes(upload: Upload) -> bytes:
    try:
        return read_plain(stored_path(upload.storage_name))  # decrypted in memory, never on disk
    except (FileNotFoundError, IsADirectoryError):
        log.error("upload %s: file %s is missing from UPLOAD_DIR", upload.id, upload.storage_name)
        raise NotFound() from None


def send_upload(upload: Upload, *, shared_computer: bool = False) -> Response:
    """The file as a download: its sniffed type, its UTF-8 name, never sniffed again, cached privately.

    `no-cache` lets the phone keep a copy but ask each time (an ETag makes that cheap), so a withdrawn
    announcement's attachment stops being served at once. `shared_computer` (the admin: office PCs
    several people use) sends `no-store` instead, so no copy stays in the browser's cache.
    """
    if has_request_context() and request.if_none_match.contains(upload.sha256):
        response = Response(status=304)  # the phone's copy is current: nothing to decrypt
        response.set_etag(upload.sha256)
    else:
        response = send_file(
            BytesIO(_plain_bytes(upload)),
            mimetype=upload.content_type,
            as_attachment=True,
            download_name=upload.filename,
            conditional=True,
            etag=upload.sha256,
            last_modified=upload.created_at,
        )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.public = False
    response.cache_control.private = True
    if shared_computer:
        response.cache_control.no_cache = None  # send_file's default; moot once nothing is stored
        response.cache_control.no_store = True
    else:
        response.cache_control.no_cache = True
    return response
