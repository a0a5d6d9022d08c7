"""The type of a file comes from its bytes; the name it is shown under is cleaned (no database)."""

from __future__ import annotations

import pytest

from backend.uploads.sniff import clean_filename, sniff
from tests.factories import EXE, HTML, JPEG_SIGNATURE_THEN_HTML, PDF, jpeg_bytes, png_bytes


@pytest.mark.parametrize(
    ("data", "expected"),
    [(png_bytes(), "image/png"), (jpeg_bytes(), "image/jpeg"), (PDF, "application/pdf")],
)
def test_accepted_kinds_are_recognised_by_their_bytes(data, expected):
    assert sniff(data) == expected


def test_a_png_named_pdf_is_a_png():
    assert sniff(png_bytes()) == "image/png"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (HTML, "photo.jpg"),
        (EXE, "photo.jpg"),
        (EXE, "report.pdf"),
        (b"GIF89a" + b"\x00" * 20, "animation.png"),
        (JPEG_SIGNATURE_THEN_HTML, "photo.jpg"),
        (png_bytes()[:40], "cut-off.png"),
        (b"\x00" * 10, "zeros.pdf"),
    ],
    ids=[
        "html-as-jpg",
        "exe-as-jpg",
        "exe-as-pdf",
        "gif",
        "jpeg-signature-then-html",
        "truncated-png",
        "zeros",
    ],
)
def test_anything_else_is_refused_whatever_its_name(data, name):
    assert sniff(data) is None  # (`name`: whatever the file was called, only its bytes count)


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("体检报告.pdf", "application/pdf", "体检报告.pdf"),
        ("扫描件.pdf", "image/png", "扫描件.png"),
        ("IMG_0001.JPEG", "image/jpeg", "IMG_0001.JPEG"),
        ("photo", "image/jpeg", "photo.jpg"),
        ("../../etc/passwd", "application/pdf", "passwd.pdf"),
        ("C:\\Users\\张三\\病历.pdf", "application/pdf", "病历.pdf"),
        ("invoice\u202efdp.exe", "application/pdf", "invoicefdp.pdf"),
        ("line\r\nbreak.png", "image/png", "linebreak.png"),
        ("", "image/png", "附件.png"),
        (None, "application/pdf", "附件.pdf"),
        (".pdf", "application/pdf", "附件.pdf"),
        ("很长" * 80 + ".pdf", "application/pdf", "很长" * 50 + ".pdf"),
    ],
)
def test_filenames_are_cleaned_and_match_the_real_type(name, content_type, expected):
    assert clean_filename(name, content_type) == expected
