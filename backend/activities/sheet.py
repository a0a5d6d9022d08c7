"""The 实名制签到表: a title row (activity, time, place), the columns the higher union asks for (phones
in full: they phone to verify), the answers, an empty 签名 column, and the totals. One table serves
the xlsx file and the printable page; one operation records the (audited) export of either."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.activities.figures import SheetRow, sheet_rows
from backend.activities.messages import when
from backend.activities.models import Activity
from backend.activities.queries import can_manage
from backend.audit.operations import record
from backend.db import to_local
from backend.errors import NotFound
from backend.spreadsheets import xlsx_bytes
from backend.staff.models import Staff

COLUMNS = ["序号", "姓名", "工号", "手机号", "所属组织", "报名时间", "签到时间", "同行人数"]
WIDTHS = [6, 10, 12, 14, 24, 18, 18, 8]
ANSWER_WIDTH, SIGNATURE_WIDTH = 14, 16


def _cell_time(value: Any) -> Any:
    local = to_local(value)
    return local.replace(tzinfo=None) if local else ""  # Excel has no time zones: Beijing time


@dataclass(frozen=True)
class Sheet:
    """The sign-in sheet as cells: times are naive Beijing datetimes; the last cell of a row is the
    empty 签名."""

    title: str
    header: list[str]
    rows: list[list[Any]]
    totals: str
    widths: list[int]

    def text_rows(self) -> list[list[str]]:
        """The cells as the printable page shows them."""
        return [
            [cell.strftime("%Y-%m-%d %H:%M") if isinstance(cell, datetime) else str(cell) for cell in row]
            for row in self.rows
        ]


def sheet_title(activity: Activity) -> str:
    return f"{activity.title}　时间：{when(activity)}　地点：{activity.location}"


def totals(rows: list[SheetRow]) -> str:
    attended = sum(1 for row in rows if row.checked_in_at)
    persons = sum(1 + row.companions for row in rows)
    return f"合计：报名 {len(rows)} 人，含同行人共 {persons} 人；已签到 {attended} 人"


def _cells(row: SheetRow) -> list[Any]:
    return [
        row.number,
        row.name,
        row.employee_no,
        row.phone,
        row.group,
        _cell_time(row.registered_at),
        _cell_time(row.checked_in_at),
        row.companions,
        *row.answers,
        "",
    ]


def build_sheet(activity: Activity) -> Sheet:
    rows = sheet_rows(activity)
    labels = [field["label"] for field in activity.form_fields]
    return Sheet(
        title=sheet_title(activity),
        header=[*COLUMNS, *labels, "签名"],
        rows=[_cells(row) for row in rows],
        totals=totals(rows),
        widths=[*WIDTHS, *([ANSWER_WIDTH] * len(labels)), SIGNATURE_WIDTH],
    )


def export_sheet(activity: Activity, *, staff: Staff) -> Sheet:
    """The sheet for download or printing, by a staff member who manages the activity; audited (the
    phones are in full)."""
    if not can_manage(activity, staff):
        raise NotFound()
    sheet = build_sheet(activity)
    count = len(sheet.rows)
    record("activity.export_sheet", staff=staff, target=activity, rows=count, full_phones=count)
    return sheet


def sheet_xlsx(sheet: Sheet) -> bytes:
    body = [sheet.header, *sheet.rows, [sheet.totals]]
    return xlsx_bytes("签到表", [sheet.title], body, widths=sheet.widths, text_stays_text=True)
