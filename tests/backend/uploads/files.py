"""Small real files of each kind, and impostors, for the upload tests."""

from __future__ import annotations

from io import BytesIO

from PIL import Image


def png_bytes(size: tuple[int, int] = (4, 3)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (200, 16, 46)).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (4, 3)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 64
    + b"This program cannot be run"
)
# Starts like a JPEG, but what follows is a web page: the signature alone must not be enough.
JPEG_SIGNATURE_THEN_HTML = b"\xff\xd8\xff\xe0" + HTML
