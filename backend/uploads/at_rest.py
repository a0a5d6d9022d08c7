"""Upload contents encrypted at rest with DATA_KEY, the key ring of the encrypted columns (backend/crypto.py).

Every file under `files/` is written as MARKER + a Fernet token of its bytes; the checks (size, type
sniffing, the SHA-256 the ETag is made of) run on the plain bytes in memory before they are encrypted,
so no plain copy is ever written to UPLOAD_DIR. Files stored before encryption existed have no marker
(they begin with a JPEG, PNG or PDF signature, never with it) and are still read as they are;
`flask rotate-data-key` encrypts them along with re-encrypting the others under the first key.
"""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path
from typing import IO

from flask import Request

from backend.crypto import decrypt_bytes, encrypt_bytes, reencrypt_bytes

MARKER = b"UNION-ENC1\n"


class InMemoryFilesRequest(Request):
    """Flask's request, but a multipart file part is held in memory, never spooled to a temporary file:
    Werkzeug writes a part over 500 KB to the system's temp directory, which would be a plain copy on
    disk before the upload is encrypted. Memory is bounded by MAX_CONTENT_LENGTH per request."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return BytesIO()


def seal(data: bytes) -> bytes:
    """What is written to disk for these plain bytes."""
    return MARKER + encrypt_bytes(data)


def is_sealed(stored: bytes) -> bool:
    return stored.startswith(MARKER)


def unseal(stored: bytes) -> bytes:
    """The plain bytes of what is on disk (a file from before encryption is returned as it is)."""
    return decrypt_bytes(stored[len(MARKER) :]) if is_sealed(stored) else stored


def read_plain(path: Path) -> bytes:
    return unseal(path.read_bytes())


def reseal(path: Path, temp_dir: Path, temp_name: str) -> bool:
    """Rewrites the file under the first DATA_KEY (encrypting a plain, older file): the new content goes
    to a temporary file in `temp_dir` (same file system), then one atomic rename replaces the old one,
    so a reader sees either version, never half of one. False when the file is gone (deleted meanwhile).
    """
    try:
        stored = path.read_bytes()
    except FileNotFoundError:
        return False
    fresh = MARKER + reencrypt_bytes(stored[len(MARKER) :]) if is_sealed(stored) else seal(stored)
    temp = temp_dir / temp_name
    try:
        with temp.open("xb") as out:
            out.write(fresh)
            out.flush()
            os.fsync(out.fileno())
        if not path.exists():  # deleted while we read: do not bring it back
            return False
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return True
