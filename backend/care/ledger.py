"""The care ledger (慰问台账) as xlsx: every visit of a period in the viewer's scope, with its receipt
(电子签收) time, rating and comment; every export is audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import sqlalchemy as sa

from backend.audit.operations import record
from backend.care.models import CareVisit
from backend.db import to_local
from backend.extensions import db
from backend.members.models import Member
from backend.members.queries import group_display_path
from backend.spreadsheets import xlsx_bytes
from backend.staff.models import Staff

WIDTHS = (8, 10, 10, 24, 10, 12, 14, 16, 10, 6, 20, 18, 6, 20, 14)


def export_ledger(staff: Staff, start: date, end: date) -> bytes:
    """The ledger's workbook; audited (the caller's unit of work commits the audit row)."""
    rows = list(ledger_rows(staff, start, end))
    record(
        "care.ledger_export",
        staff=staff,
        rows=len(rows),
        date_from=start.isoformat(),
        date_to=end.isoformat(),
    )
    return xlsx_bytes("慰问台账", LEDGER_HEADER, rows, widths=WIDTHS)


LEDGER_HEADER = (
    "编号",
    "姓名",
    "工号",
    "组织",
    "类别",
    "走访日期",
    "走访人",
    "慰问品",
    "金额（元）",
    "现金",
    "例外原因",
    "签收时间",
    "评分",
    "评价",
    "活动",
)


def ledger_rows(staff: Staff, start: date, end: date) -> Iterator[list[Any]]:
    query = (
        sa.select(CareVisit)
        .join(Member, Member.id == CareVisit.member_id)
        .where(staff.scope_filter(Member.group_id), CareVisit.visited_on.between(start, end))
        .order_by(CareVisit.visited_on, CareVisit.id)
    )
    for visit in db.session.scalars(query):
        received = to_local(visit.received_at)
        yield [
            visit.id,
            visit.member.name,
            visit.member.employee_no,
            group_display_path(visit.group),
            visit.category_label,
            visit.visited_on,
            visit.visitors,
            visit.gift,
            visit.amount_fen / 100,
            "是" if visit.is_cash else "否",
            visit.override_reason,
            received.replace(tzinfo=None) if received else "未签收",
            visit.rating or "",
            f"（待人工审核）{visit.comment}" if visit.comment_held and visit.comment else visit.comment,
            visit.campaign.name if visit.campaign else "",
        ]
