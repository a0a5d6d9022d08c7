"""What a file really is, judged from its bytes (never from its name), and a safe name to show for it.

Three fixed signatures do not need a library: `filetype` and its kin only compare the same leading
bytes. Images go one step further through Pillow (already a dependency), so an HTML page or a script
that merely starts with a JPEG or PNG signature is still refused.
"""

from __future__ import annotations

import unicodedata
import warnings
from io import BytesIO

from PIL import Image

from backend.uploads.models import ACCEPTED_TYPES

SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}
# Extensions a file of each type may keep; any other name gets the type's own extension.
KEPT_EXTENSIONS = {
    "image/jpeg": {".jpg", ".jpeg", ".jpe"},
    "image/png": {".png"},
    "application/pdf": {".pdf"},
}
STEM_MAX = 100
DEFAULT_STEM = "附件"


def sniff(data: bytes) -> str | None:
    """The accepted content type of these file contents (uploads are read into memory first), or None
    when they are none of them."""
    head = data[:16]
    content_type = next((kind for signature, kind in SIGNATURES if head.startswith(signature)), None)
    if content_type in PILLOW_FORMATS and not _is_image(data, PILLOW_FORMATS[content_type]):
        return None
    return content_type


def _is_image(data: bytes, pillow_format: str) -> bool:
    try:
        with warnings.catch_warnings():
            # A picture of more than ~89 million pixels is a decompression bomb, not a phone photo.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data), formats=[pillow_format]) as image:
                image.verify()
    # Pillow's parsers raise many kinds of error on hostile input (OSError, SyntaxError, struct.error,
    # ValueError, the decompression-bomb ones …); all of them mean "not an image we accept".
    except Exception:
        return False
    return True


def clean_filename(name: str | None, content_type: str) -> str:
    """The name a worker or staff member chose, made safe to store and to send back.

    Directory parts and control or direction-changing characters go; the extension matches the type
    found in the bytes (a PNG sent as "扫描件.pdf" is kept as "扫描件.png").
    """
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    extension = "." + extension if dot else ""
    if extension.lower() not in KEPT_EXTENSIONS[content_type]:
        extension = ACCEPTED_TYPES[content_type]
    stem = stem.strip().strip(".")[:STEM_MAX].strip() or DEFAULT_STEM
    return stem + extension
