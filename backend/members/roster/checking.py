"""Checking one roster row: clean values (name, 工号, phone, dates), or the reasons it cannot be applied."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from backend.db import today as local_today
from backend.members.models import Group, normalize_employee_no, normalize_name
from backend.members.roster.reading import Cell, RosterRow

_DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
)
LATEST_RETIREMENT = date(2100, 12, 31)
_PHONE = re.compile(r"1\d{10}")
# 138****5678: how an export for a role that may not see full numbers writes a phone (exporting.py).
_MASKED_PHONE = re.compile(r"1\d{2}\*{4}\d{4}")


def cell_text(value: Cell) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else value


def parse_date(value: Cell, *, latest: date | None = None) -> date | None:
    """2024-03-01, 2024/3/1, 2024.3.1, 20240301, 2024年3月1日 or an Excel date cell; None if blank.

    Raises ValueError for anything else, and for dates before 1900 or after `latest` (default today).
    """
    if value is None:
        return None
    if isinstance(value, date):
        parsed = value.date() if isinstance(value, datetime) else value
    elif len(value) == 10 and value[4] == "-" and value[7] == "-" and value.isascii():
        parsed = _iso_date(value)  # 2024-03-01, as the template and the export write it: the fast path
    else:
        text = unicodedata.normalize("NFKC", value).strip()
        for pattern in _DATE_PATTERNS:
            match = pattern.fullmatch(text)
            if match:
                parsed = date(*(int(part) for part in match.groups()))
                break
        else:
            raise ValueError(value)
    if not date(1900, 1, 1) <= parsed <= (latest or local_today()):
        raise ValueError(value)
    return parsed


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(text) from None


def parse_phone(value: Cell) -> str | None:
    """An 11-digit mobile number starting with 1; spaces, dashes and +86 are dropped. None if blank."""
    if value is None:
        return None
    text = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", cell_text(value)))
    text = re.sub(r"^(?:\+86|0086)", "", text)
    if len(text) == 13 and text.startswith("86"):
        text = text[2:]
    if not _PHONE.fullmatch(text):
        raise ValueError(value)
    return text


@dataclass
class CheckedRow:
    """One row after checking: clean values, or the reasons it cannot be applied."""

    row: RosterRow
    name: str
    employee_no: str
    phone: str | None
    birthday: date | None
    joined_on: date | None
    reasons: list[str]
    group: Group | None = None
    retires_on: date | None = None  # 退休日期: may lie in the future


def check_row(row: RosterRow) -> CheckedRow:
    reasons = []
    name = normalize_name(cell_text(row.name))
    employee_no = normalize_employee_no(cell_text(row.employee_no))
    if not name:
        reasons.append("缺少姓名")
    elif len(name) > 50:
        reasons.append("姓名不能超过 50 个字")
    if not employee_no:
        reasons.append("缺少工号")
    elif len(employee_no) > 32:
        reasons.append("工号不能超过 32 个字符")
    if row.group is None:
        reasons.append("缺少所属组织")
    phone_cell = row.phone
    if isinstance(phone_cell, str) and _MASKED_PHONE.fullmatch(phone_cell.strip()):
        phone_cell = None  # a masked number says nothing new: like a blank cell, it keeps the roster's
    try:
        phone = parse_phone(phone_cell)
    except ValueError:
        phone = None
        reasons.append("手机号格式不正确")
    dates: dict[str, date | None] = {}
    for column, label in (("birthday", "生日"), ("joined_on", "入会日期")):
        try:
            dates[column] = parse_date(getattr(row, column))
        except ValueError:
            dates[column] = None
            reasons.append(f"{label}格式不正确（{cell_text(getattr(row, column))}）")
    try:
        retires_on = parse_date(row.retires_on, latest=LATEST_RETIREMENT)
    except ValueError:
        retires_on = None
        reasons.append(f"退休日期格式不正确（{cell_text(row.retires_on)}）")
    checked = CheckedRow(row, name, employee_no, phone, dates["birthday"], dates["joined_on"], reasons)
    checked.retires_on = retires_on
    return checked
