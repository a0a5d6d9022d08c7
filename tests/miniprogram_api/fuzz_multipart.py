"""Hypothesis strategies for `multipart/form-data` bodies, encoded by hand (not by Werkzeug's test client).

By hand, so that what a real phone or a hostile client may send can be sent too: raw UTF-8 or GBK
filenames, unescaped quotes, CR/LF and NUL inside a header, `filename*=` (RFC 5987), a text field
named `file`, a part without a name, two files, a missing closing boundary or a body cut in the middle
of a part.

File contents start like the real thing (a whole PDF, PNG or JPEG, or one cut short, or its signature
followed by garbage), or are HTML, an EXE, empty, random bytes, or larger than a lowered size limit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from urllib.parse import quote

from hypothesis import strategies as st

from tests.factories import EXE, HTML, JPEG_SIGNATURE_THEN_HTML, PDF, jpeg_bytes, png_bytes

CRLF = b"\r\n"


@functools.cache
def sample_files() -> dict[str, bytes]:
    return {
        "pdf": PDF,
        "png": png_bytes(),
        "jpeg": jpeg_bytes(),
        "html": HTML,
        "exe": EXE,
        "jpeg-signature-then-html": JPEG_SIGNATURE_THEN_HTML,
        "gif": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        "zip": b"PK\x03\x04" + b"\x00" * 26,
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        "png-signature-only": b"\x89PNG\r\n\x1a\n",
    }


@st.composite
def file_contents(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["pdf", "png", "jpeg"] * 3 + sorted(sample_files())))
    whole = sample_files()[kind]
    shape = draw(st.sampled_from(["whole"] * 4 + ["cut", "garbage-tail", "signature-then-garbage", "big"]))
    if shape == "whole":
        return whole
    if shape == "cut":
        return whole[: draw(st.integers(0, len(whole)))]
    if shape == "garbage-tail":
        return whole + draw(st.binary(max_size=300))
    if shape == "signature-then-garbage":
        return whole[:8] + draw(st.binary(max_size=300))
    # Over a lowered UPLOAD_MAX_BYTES (and, sometimes, over a lowered MAX_CONTENT_LENGTH too).
    return whole + b"\x00" * draw(st.sampled_from([1500, 5000, 20_000]))


ODD_NAMES = [
    "证明.pdf",
    "体检单.JPG",
    "scan.png",
    "",
    " ",
    ".",
    "..",
    "...pdf",
    " .pdf",
    "../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/var/tmp/abs.pdf",
    "a" * 300 + ".pdf",
    "名" * 200 + ".jpg",
    "x\x00.pdf",
    "photo.jpg\x00.exe",
    'a"b.pdf',
    "a'b.pdf",
    "a\r\nContent-Type: text/html\r\n\r\n<script>.pdf",
    "a\nb.pdf",
    "\u202egpj.exe",
    "\u200f证明\u200e.pdf",
    "photo.jpg.exe",
    "photo.exe",
    "CON.pdf",
    "🙂" * 40 + ".png",
    "e\u0301.pdf",
    "%2e%2e%2fx.pdf",
    "a; filename=evil.html",
    "a\\",
    "\t.pdf",
    "\ufeff.pdf",
]
FILENAMES = st.one_of(
    st.sampled_from(ODD_NAMES),
    st.builds(
        lambda stem, ext: stem + ext, st.text(max_size=40), st.sampled_from(["", ".pdf", ".png", ".jpg"])
    ),
)
# How the filename appears in Content-Disposition: as browsers send it, raw, RFC 5987, GBK (old Windows
# clients), without quotes, or not at all (then the part is a text field, not a file).
FILENAME_STYLES = ["browser", "browser", "raw", "rfc5987", "both", "gbk", "unquoted", "absent"]
PART_TYPES = [
    None,
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/html",
    "application/octet-stream",
    "x",
]


@dataclass
class Part:
    name: str | None  # None: a Content-Disposition without name= (Werkzeug files it under the key None)
    data: bytes
    filename: str | None = None
    style: str = "browser"
    content_type: str | None = None
    extra_headers: list[bytes] = field(default_factory=list)

    def headers(self) -> bytes:
        disposition = b"form-data"
        if self.name is not None:
            disposition += b'; name="' + self.name.encode("utf-8", "surrogatepass") + b'"'
        if self.filename is not None and self.style != "absent":
            disposition += b"; " + _filename_param(self.filename, self.style)
        lines = [b"Content-Disposition: " + disposition]
        if self.content_type is not None:
            lines.append(b"Content-Type: " + self.content_type.encode())
        return CRLF.join(lines + self.extra_headers)


def _filename_param(name: str, style: str) -> bytes:
    raw = name.encode("utf-8", "surrogatepass")
    if style == "browser":  # what Chrome and Firefox do: only ", CR and LF are escaped
        escaped = raw.replace(b'"', b"%22").replace(b"\r", b"%0D").replace(b"\n", b"%0A")
        return b'filename="' + escaped + b'"'
    if style == "raw":
        return b'filename="' + raw + b'"'
    if style == "rfc5987":
        return b"filename*=UTF-8''" + quote(raw, safe="").encode()
    if style == "both":
        return b"filename=\"fallback.pdf\"; filename*=UTF-8''" + quote(raw, safe="").encode()
    if style == "gbk":
        return b'filename="' + name.encode("gbk", "replace") + b'"'
    return b"filename=" + raw  # unquoted


@dataclass
class Multipart:
    """One multipart body as sent: its Content-Type header and its bytes, and what they were made of."""

    content_type: str
    body: bytes
    parts: list[Part]
    envelope: str


def encode(parts: list[Part], boundary: bytes, envelope: str = "proper") -> bytes:
    newline = b"\n" if envelope == "lf-only" else CRLF
    chunks = [b"junk before the first boundary" + newline] if envelope == "preamble" else []
    for part in parts:
        headers = part.headers().replace(CRLF, newline)
        separator = newline if envelope == "no-blank-line" else newline + newline
        chunks.append(b"--" + boundary + newline + headers + separator + part.data + newline)
    if envelope != "no-closing-boundary":
        chunks.append(b"--" + boundary + b"--" + newline)
    return b"".join(chunks)


@st.composite
def file_parts(draw: st.DrawFn, name: str | None = "file") -> Part:
    return Part(
        name=name,
        data=draw(file_contents()),
        filename=draw(FILENAMES),
        style=draw(st.sampled_from(FILENAME_STYLES)),
        content_type=draw(st.sampled_from(PART_TYPES)),
        extra_headers=draw(
            st.sampled_from([[], [], [], [b"Content-Transfer-Encoding: base64"], [b"X-Junk: \xff\xfe"]])
        ),
    )


TEXT_FIELDS = st.builds(
    Part,
    name=st.sampled_from(["note", "filename", "名称", "", "file[]", "x" * 300, None]),
    data=st.one_of(
        st.text(max_size=50).map(lambda s: s.encode("utf-8", "surrogatepass")), st.binary(max_size=50)
    ),
)


@st.composite
def form_parts(draw: st.DrawFn) -> list[Part]:
    shape = draw(
        st.sampled_from(
            ["one file"] * 6
            + ["no file", "two files", "file under another name", "text field named file", "text then file"]
            + ["file without a name"]
        )
    )
    parts: list[Part] = []
    if shape == "one file":
        parts = [draw(file_parts())]
    elif shape == "two files":
        parts = [draw(file_parts()), draw(file_parts())]
    elif shape == "file under another name":
        parts = [draw(file_parts(draw(st.sampled_from(["files", "File", "upload", "file "]))))]
    elif shape == "text field named file":
        parts = [Part(name="file", data=draw(st.binary(max_size=100)))]
    elif shape == "text then file":
        parts = [Part(name="file", data=b"not a file"), draw(file_parts())]
    elif shape == "file without a name":
        parts = [draw(file_parts(None)), *draw(st.lists(file_parts(), max_size=1))]
    parts += draw(st.lists(TEXT_FIELDS, max_size=2))
    return draw(st.permutations(parts)) if len(parts) > 1 and draw(st.booleans()) else parts


BOUNDARIES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=40)
BROKEN_ENVELOPES = ["no-closing-boundary", "preamble", "lf-only", "no-blank-line", "cut"]


@st.composite
def multipart_bodies(draw: st.DrawFn, parts: st.SearchStrategy[list[Part]] | None = None) -> Multipart:
    """Mostly well-formed (so the parts reach the view), sometimes a broken envelope or Content-Type."""
    form = draw(parts if parts is not None else form_parts())
    boundary = draw(BOUNDARIES)
    broken = draw(st.sampled_from([None] * 4 + ["envelope", "content type"]))
    envelope = draw(st.sampled_from(BROKEN_ENVELOPES)) if broken == "envelope" else "proper"
    body = encode(form, boundary.encode(), envelope)
    if envelope == "cut":
        body = body[: draw(st.integers(0, len(body)))]
    header = f"multipart/form-data; boundary={boundary}"
    if broken == "content type":
        header = draw(
            st.sampled_from(
                [
                    f'multipart/form-data; boundary="{boundary}"',
                    "multipart/form-data",
                    "multipart/form-data; boundary=other",
                    f"multipart/form-data; boundary={boundary}x{'x' * 70}",
                    f"multipart/form-data; boundary={boundary} b",
                    f"multipart/mixed; boundary={boundary}",
                    f"multipart/form-data; charset=gbk; boundary={boundary}",
                    f"application/x-www-form-urlencoded; boundary={boundary}",
                ]
            )
        )
    return Multipart(content_type=header, body=body, parts=form, envelope=envelope)


# A few fixed uploads, so that the same Idempotency-Key meets the same file again (a replay, even with
# another boundary) or another file (idempotency_key_reused).
CANNED_UPLOADS = st.sampled_from(["pdf", "jpeg", "html"]).map(
    lambda kind: [Part(name="file", data=sample_files()[kind], filename=f"同一个.{kind}", content_type=None)]
)
