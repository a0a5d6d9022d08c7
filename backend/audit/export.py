"""Exporting the audit log to Excel (.xlsx, openpyxl): the rows a viewer sees, with the same filters.

An export takes the log out of the system, so it is itself written to the log. Every text cell is
stored as text: a value a worker or an intruder typed (a login name such as "=HYPERLINK(…)") never
becomes a formula when the file is opened.

The file reads like the page: the names of the records touched, masked the same way
(backend/audit/names.py, looked up once per kind for each thousand rows). It keeps the action code and
the record's type and number in columns of their own as well, for sorting and filtering in Excel.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from backend.audit.labels import action_label, actor_text, describe_detail, object_type_label
from backend.audit.models import AuditLog
from backend.audit.names import ObjectNames, names_for
from backend.audit.operations import record
from backend.audit.queries import AuditFilters, audit_entries, count_entries
from backend.db import to_local
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.spreadsheets import xlsx_bytes
from backend.staff.models import Staff

EXPORT_MAX_ROWS = 50_000
CHUNK = 1000
HEADER = (
    "时间",
    "操作人",
    "操作",
    "操作代码",
    "对象类型",
    "对象编号",
    "对象",
    "详情",
    "IP 地址",
    "浏览器/设备",
)
WIDTHS = (20, 24, 22, 26, 12, 10, 30, 60, 16, 40)


def export_audit_log(
    viewer: Staff, filters: AuditFilters, *, max_rows: int = EXPORT_MAX_ROWS
) -> tuple[bytes, int]:
    """(the .xlsx file, how many rows it holds). Flushes the audit row of the export; never commits.

    More than `max_rows` matching rows is refused with ValidationFailed: narrow the dates and export
    in parts, rather than have one request hold the web server for minutes.
    """
    query = audit_entries(viewer, filters)
    total = count_entries(query)
    if total > max_rows:
        raise ValidationFailed(
            f"符合条件的记录有 {total} 条，超过一次最多导出的 {max_rows} 条，请缩小日期范围后分几次导出"
        )
    entries = db.session.scalars(query.execution_options(yield_per=CHUNK))
    data = _workbook(_named_rows(entries, viewer))
    record("audit.export", staff=viewer, rows=total, filters=filters.as_detail())
    db.session.flush()
    return data, total


def _named_rows(entries: Iterable[AuditLog], viewer: Staff) -> Iterator[list[Any]]:
    """The cells of each row, the names of what a chunk of rows touched looked up together."""
    iterator = iter(entries)
    while chunk := list(islice(iterator, CHUNK)):
        names = names_for(chunk, viewer)
        for entry in chunk:
            yield _row(entry, names)


def _row(entry: AuditLog, names: ObjectNames) -> list[Any]:
    local = to_local(entry.at)
    detail = "；".join(f"{label}：{text}" for label, text in describe_detail(entry, names))
    return [
        local.replace(tzinfo=None) if local is not None else None,
        actor_text(entry),
        action_label(entry.action),
        entry.action,
        object_type_label(entry.object_type) if entry.object_type else "",
        entry.object_id,
        names.target(entry),
        detail,
        entry.ip,
        entry.user_agent,
    ]


def _workbook(rows: Iterable[list[Any]]) -> bytes:
    return xlsx_bytes("审计日志", HEADER, rows, widths=WIDTHS)
