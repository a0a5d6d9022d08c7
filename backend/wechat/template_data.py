"""Fit values to the field types of a WeChat subscribe-message template.

WeChat answers 47003 ("argument invalid! data.thing1.value invalid") when a value breaks its field
type's rule, and a rejected send costs the member their notice. So every value is fitted before
sending: truncated, filtered to the allowed characters, formatted, and never left empty.

The type of a field is the alphabetic prefix of its key: ``thing1`` is a ``thing``, ``time12`` a
``time``, ``character_string3`` a ``character_string``. The rules (WeChat's "订阅消息参数值内容限制说明"):

| type | rule |
|---|---|
| thing | ≤ 20 characters of any kind |
| number | ≤ 32 digits, may have a decimal part |
| letter | ≤ 32 letters |
| symbol | ≤ 5 symbols |
| character_string | ≤ 32 digits, letters or symbols |
| time | 24-hour time, optionally with a date: ``15:01``, ``2019年10月1日 15:01`` |
| date | a date, optionally with a time: ``2019年10月1日``, ``2019年10月1日 15:01`` |
| amount | an optional currency sign + ≤ 10 digits, may have decimals, may end in 元 |
| phone_number | ≤ 17 digits and symbols |
| name | ≤ 10 Chinese characters, or ≤ 20 letters/symbols; mixed counts as Chinese |
| phrase | ≤ 5 Chinese characters |
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

# China has had no daylight saving since 1991, so a fixed offset is exact and needs no tzdata.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

TEXT_PLACEHOLDER = "无"
SYMBOL_PLACEHOLDER = "-"
ELLIPSIS = "…"

_CJK = re.compile(r"[\u4e00-\u9fff]")
_ASCII_VISIBLE = re.compile(r"[\x21-\x7e]")
_PHONE_CHARS = re.compile(r"[0-9+\-()#*]")
_DECIMAL = re.compile(r"\d+(?:\.\d+)?")
# Text already in a format WeChat accepts is kept as written; anything else is parsed and re-rendered.
_TIME_FORMATS = ("%H:%M", "%Y-%m-%d %H:%M", "%Y年%m月%d日 %H:%M")
_DATE_FORMATS = ("%Y-%m-%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M", "%Y年%m月%d日 %H:%M")
_AMOUNT_LIMIT = Decimal(10) ** 10


def field_type(key: str) -> str:
    """The WeChat field type of a template key: ``thing1`` → ``thing``."""
    kind = re.sub(r"\d+$", "", key)
    if kind not in _FITTERS:
        raise ValueError(f"unknown subscribe-message field type in key {key!r}")
    return kind


def fit_template_data(fields: Mapping[str, str | None], values: Mapping[str, object]) -> dict[str, str]:
    """Build the ``data`` of a subscribe message, every value fitted to its field's type.

    ``fields`` maps each template key to the name of the value that fills it (``{"thing1": "title",
    "time2": "starts_at"}``, as in ``WECHAT_TEMPLATES``); a key mapped to nothing is filled from
    ``values[key]``. Text that is too long is cut (``thing`` ends in "…"), empty text becomes a
    placeholder, datetimes are shown in Asia/Shanghai (naive ones are taken as UTC, as stored).
    A ``time`` or ``date`` field without a usable value raises ValueError: inventing a time would lie.
    """
    data: dict[str, str] = {}
    for key, source in fields.items():
        raw = values.get(source) if source else values.get(key)
        data[key] = _FITTERS[field_type(key)](raw)
    return data


def _clean(value: object) -> str:
    """Text without control, format or surrogate characters, with whitespace collapsed."""
    if value is None:
        return ""
    text = "".join(
        " " if ch.isspace() else ch for ch in str(value) if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    return " ".join(text.split())


def _fit_thing(value: object) -> str:
    text = _clean(value)
    if not text:
        return TEXT_PLACEHOLDER
    return text if len(text) <= 20 else text[:19] + ELLIPSIS


def _fit_phrase(value: object) -> str:
    return "".join(_CJK.findall(_clean(value)))[:5] or TEXT_PLACEHOLDER


def _fit_name(value: object) -> str:
    text = _clean(value)
    if not text:
        return TEXT_PLACEHOLDER
    latin = all(ch in string.ascii_letters or ch in string.punctuation or ch == " " for ch in text)
    return text[:20].strip() if latin else text[:10].strip() or TEXT_PLACEHOLDER


def _fit_character_string(value: object) -> str:
    return "".join(_ASCII_VISIBLE.findall(_clean(value)))[:32] or SYMBOL_PLACEHOLDER


def _fit_letter(value: object) -> str:
    return "".join(ch for ch in _clean(value) if ch in string.ascii_letters)[:32] or "NA"


def _fit_symbol(value: object) -> str:
    return "".join(ch for ch in _clean(value) if ch in string.punctuation)[:5] or SYMBOL_PLACEHOLDER


def _fit_phone_number(value: object) -> str:
    return "".join(_PHONE_CHARS.findall(_clean(value)))[:17] or SYMBOL_PLACEHOLDER


def _as_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return abs(number) if number.is_finite() else None
    match = _DECIMAL.search(_clean(value).replace(",", ""))
    return Decimal(match.group()) if match else None


def _fit_number(value: object) -> str:
    number = _as_decimal(value)
    if number is None:
        return "0"
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if len(text) > 32:
        text = text.split(".")[0][:32]
    return text


def _fit_amount(value: object) -> str:
    number = _as_decimal(value) or Decimal(0)
    if number >= _AMOUNT_LIMIT:
        raise ValueError(f"amount {value!r} does not fit in ten digits")
    cents = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{cents}"
    if sum(ch.isdigit() for ch in text) > 10:
        text = f"{number.to_integral_value(rounding=ROUND_DOWN)}"
    if sum(ch.isdigit() for ch in text) > 10:
        raise ValueError(f"amount {value!r} does not fit in ten digits")
    return f"{text}元"


def _to_shanghai(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI)


def _parse_moment(value: object) -> datetime | date:
    if isinstance(value, datetime):
        return _to_shanghai(value)
    if isinstance(value, date):
        return value
    text = _clean(value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"cannot read a time from {value!r}") from None
    if len(text) == 10:  # a bare date has no time of day to convert
        return parsed.date()
    return _to_shanghai(parsed)


def _already(value: object, formats: tuple[str, ...]) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    for fmt in formats:
        try:
            datetime.strptime(text, fmt)
        except ValueError:
            continue
        return text
    return None


def _fit_time(value: object) -> str:
    if kept := _already(value, _TIME_FORMATS):
        return kept
    moment = _parse_moment(value)
    if not isinstance(moment, datetime):
        return f"{moment:%Y-%m-%d} 00:00"
    return f"{moment:%Y-%m-%d %H:%M}"


def _fit_date(value: object) -> str:
    if kept := _already(value, _DATE_FORMATS):
        return kept
    moment = _parse_moment(value)
    return f"{moment:%Y-%m-%d}"


_FITTERS = {
    "thing": _fit_thing,
    "phrase": _fit_phrase,
    "name": _fit_name,
    "character_string": _fit_character_string,
    "number": _fit_number,
    "letter": _fit_letter,
    "symbol": _fit_symbol,
    "time": _fit_time,
    "date": _fit_date,
    "amount": _fit_amount,
    "phone_number": _fit_phone_number,
}
