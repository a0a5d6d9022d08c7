"""WeChat's rules as the emulator enforces them: template field values, scenes, mini-program codes.

Written separately from ``template_data`` on purpose: the emulator is the referee of the gateway's
fitting, so it must not share the code it judges.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import string
import unicodedata
from datetime import datetime

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

FIELD_TYPES = frozenset(
    {
        "thing",
        "number",
        "letter",
        "symbol",
        "character_string",
        "time",
        "date",
        "amount",
        "phone_number",
        "car_number",
        "name",
        "phrase",
    }
)

_TIME_FORMATS = ("%H:%M", "%Y-%m-%d %H:%M", "%Y年%m月%d日 %H:%M")
_DATE_FORMATS = ("%Y-%m-%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M", "%Y年%m月%d日 %H:%M")
_SCENE = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$")
_PAGE = re.compile(r"^[A-Za-z0-9_\-]+(?:/[A-Za-z0-9_\-]+)*$")


def type_of_key(key: str) -> str:
    """The field type a template key implies: ``thing1`` → ``thing``; ValueError if none."""
    kind = re.sub(r"\d+$", "", key)
    if kind not in FIELD_TYPES:
        raise ValueError(f"unknown field type for key {key!r}")
    return kind


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch)[0] == "C" for ch in text)


def _matches_format(text: str, formats: tuple[str, ...]) -> bool:
    parts = text.split("~")
    if len(parts) > 2:
        return False
    for part in parts:
        for fmt in formats:
            try:
                datetime.strptime(part.strip(), fmt)
            except ValueError:
                continue
            break
        else:
            return False
    return True


def value_is_valid(kind: str, value: object) -> bool:
    """Whether WeChat would accept value for a field of this type."""
    if not isinstance(value, str) or not value.strip() or _has_control(value):
        return False
    if kind == "thing":
        return len(value) <= 20
    if kind == "number":
        return len(value) <= 32 and re.fullmatch(r"\d+(?:\.\d+)?", value) is not None
    if kind == "letter":
        return re.fullmatch(r"[A-Za-z]{1,32}", value) is not None
    if kind == "symbol":
        return len(value) <= 5 and all(ch in string.punctuation for ch in value)
    if kind == "character_string":
        return re.fullmatch(r"[\x21-\x7e]{1,32}", value) is not None
    if kind == "time":
        return _matches_format(value, _TIME_FORMATS)
    if kind == "date":
        return _matches_format(value, _DATE_FORMATS)
    if kind == "amount":
        match = re.fullmatch(r"[¥￥$]?(\d+(?:\.\d+)?)元?", value)
        return match is not None and sum(ch.isdigit() for ch in match.group(1)) <= 10
    if kind == "phone_number":
        return re.fullmatch(r"[0-9+\-()#* ]{1,17}", value) is not None
    if kind == "car_number":
        return len(value) <= 8
    if kind == "name":
        latin = all(ch in string.ascii_letters or ch in string.punctuation or ch == " " for ch in value)
        return len(value) <= (20 if latin else 10)
    if kind == "phrase":
        return re.fullmatch(r"[\u4e00-\u9fff]{1,5}", value) is not None
    return False


def scene_is_valid(scene: object) -> bool:
    """≤ 32 visible characters: digits, letters and !#$&'()*+,/:;=?@-._~ only."""
    return isinstance(scene, str) and _SCENE.match(scene) is not None


def page_is_valid(page: object) -> bool:
    """A page path as in app.json: no leading slash, no query string."""
    return page is None or (isinstance(page, str) and _PAGE.match(page) is not None)


def draw_wxa_code(scene: str, page: str | None, width: int = 430) -> bytes:
    """A PNG standing in for a mini-program code; scene and page are also kept as PNG text chunks."""
    size = max(280, min(int(width), 1280))
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    digest = hashlib.sha256(f"{page}|{scene}".encode()).digest()
    # A ring of dots derived from the content, so different scenes look different.
    centre, radius = size / 2, size * 0.38
    for index, byte in enumerate(digest):
        for bit in range(8):
            if byte >> bit & 1:
                angle = (index * 8 + bit) / 256 * math.tau
                x = centre + radius * math.cos(angle)
                y = centre + radius * math.sin(angle)
                draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill="black")
    font = ImageFont.load_default()
    draw.text((centre, centre - 10), scene, fill="black", anchor="mm", font=font)
    draw.text((centre, centre + 10), page or "", fill="gray", anchor="mm", font=font)
    info = PngInfo()
    info.add_text("scene", scene)
    info.add_text("page", page or "")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()
