"""The hardship ledger (帮扶台账) as xlsx: totals by category and tier for a year, in the viewer's scope.
Chair and admin only; every export is audited."""

from __future__ import annotations

from backend.audit.operations import record
from backend.errors import PermissionDenied
from backend.hardship.models import CATEGORY_LABELS, TIER_LABELS
from backend.hardship.queries import ledger_rows
from backend.spreadsheets import xlsx_bytes
from backend.staff.models import Staff
from backend.staff.permissions import Permission

HEADER = ("类别", "困难类型", "批准件数", "批准金额（元）", "已发放（元）")


def export_ledger(staff: Staff, year: int) -> bytes:
    if not staff.can(Permission.export_hardship_ledger):
        raise PermissionDenied()
    rows = ledger_rows(staff, year)
    table = [
        (CATEGORY_LABELS[c], TIER_LABELS.get(t, "—"), n, round(g / 100, 2), round(d / 100, 2))
        for c, t, n, g, d in rows
    ]
    table.append(
        (
            "合计",
            "",
            sum(r[2] for r in rows),
            round(sum(r[3] for r in rows) / 100, 2),
            round(sum(r[4] for r in rows) / 100, 2),
        )
    )
    record("hardship.export", staff=staff, year=year, rows=len(rows))
    return xlsx_bytes(f"{year}年帮扶台账", HEADER, table, widths=(16, 14, 10, 16, 16))
