"""Where upload bytes live: streamed to a temporary file, checked, and only then moved into place.

Layout under UPLOAD_DIR (a shared volume when there are several web machines):
`tmp/` holds files being received; `files/ab/abcdef…` holds accepted files under random names.
Both are on one file system, so moving a checked file into place is one atomic rename.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import Response, current_app, send_file

from backend.errors import DomainError, NotFound
from backend.uploads.models import TYPE_LABELS, Upload
from backend.uploads.sniff import clean_filename, sniff

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


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
        """Moves the file to its final name (call after the row is flushed, before the commit)."""
        target = stored_path(storage_name)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.temp_path, target)
        self.placed_path = target

    def discard(self) -> None:
        self.temp_path.unlink(missing_ok=True)
        if self.placed_path is not None:
            self.placed_path.unlink(missing_ok=True)


def _stage(stream: IO[bytes], filename: str | None, max_bytes: int) -> StagedFile:
    temp_path = _temp_dir() / f"{new_storage_name()}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        with temp_path.open("xb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLarge(f"文件太大：每个文件不能超过 {human_size(max_bytes)}")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise EmptyUpload(errors={"file": [EmptyUpload.message]})
        content_type = sniff(temp_path)
        if content_type is None:
            raise UnsupportedUploadType()
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    return StagedFile(
        temp_path=temp_path,
        filename=clean_filename(filename, content_type),
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
    )


@contextmanager
def staged_uploads(files: Sequence[tuple[IO[bytes], str | None]]) -> Iterator[list[StagedFile]]:
    """Receives and checks every file, then yields them; if the block fails, no file is left behind.

    Use it around the unit of work that writes the rows: a failed commit removes the placed files too.
    """
    max_bytes = max_upload_bytes()
    staged: list[StagedFile] = []
    try:
        for stream, filename in files:
            staged.append(_stage(stream, filename, max_bytes))
        yield staged
    except BaseException:
        for item in staged:
            item.discard()
        raise
    finally:
        for item in staged:
            item.temp_path.unlink(missing_ok=True)


@contextmanager
def staged_upload(stream: IO[bytes], filename: str | None) -> Iterator[StagedFile]:
    with staged_uploads([(stream, filename)]) as staged:
        yield staged[0]


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


def send_upload(upload: Upload) -> Response:
    """The file as a download: its sniffed type, its UTF-8 name, never sniffed again, cached privately.

    `no-cache` lets the phone keep a copy but ask each time (an ETag makes that cheap), so a withdrawn
    announcement's attachment stops being served at once.
    """
    path = stored_path(upload.storage_name)
    if not path.is_file():
        log.error("upload %s: file %s is missing from UPLOAD_DIR", upload.id, upload.storage_name)
        raise NotFound()
    response = send_file(
        path,
        mimetype=upload.content_type,
        as_attachment=True,
        download_name=upload.filename,
        conditional=True,
        etag=upload.sha256,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.public = False
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return response
