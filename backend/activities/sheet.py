"""The 实名制签到表 as an xlsx file: a title row (activity, time, place), the columns the higher union
asks for (phones in full: they phone to verify), an empty 签名 column, and the totals."""

from __future__ import annotations

from typing import Any

from backend.activities.figures import SheetRow, sheet_rows
from backend.activities.messages import when
from backend.activities.models import Activity
from backend.audit.operations import record
from backend.db import to_local
from backend.spreadsheets import xlsx_bytes
from backend.staff.models import Staff

COLUMNS = ["序号", "姓名", "工号", "手机号", "所属组织", "报名时间", "签到时间", "同行人数"]


def _cell_time(value: Any) -> Any:
    local = to_local(value)
    return local.replace(tzinfo=None) if local else ""  # Excel has no time zones: Beijing time


def sheet_title(activity: Activity) -> str:
    return f"{activity.title}　时间：{when(activity)}　地点：{activity.location}"


def header(activity: Activity) -> list[str]:
    return [*COLUMNS, *(field["label"] for field in activity.form_fields), "签名"]


def totals(rows: list[SheetRow]) -> str:
    attended = sum(1 for row in rows if row.checked_in_at)
    persons = sum(1 + row.companions for row in rows)
    return f"合计：报名 {len(rows)} 人，含同行人共 {persons} 人；已签到 {attended} 人"


def sheet_xlsx(activity: Activity, *, staff: Staff) -> bytes:
    rows = sheet_rows(activity)
    record("activity.export_sheet", staff=staff, target=activity, rows=len(rows), full_phones=len(rows))
    body: list[list[Any]] = [header(activity)]
    for row in rows:
        body.append(
            [
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
        )
    body.append([totals(rows)])
    widths = [6, 10, 12, 14, 24, 18, 18, 8, *([14] * len(activity.form_fields)), 16]
    return xlsx_bytes("签到表", [sheet_title(activity)], body, widths=widths, text_stays_text=True)
