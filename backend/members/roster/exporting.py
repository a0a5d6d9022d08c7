"""Exporting the member list (the list's filters) as an .xlsx in the import template's columns.

Export → edit in Excel → import round-trips: the columns are the template's, 所属组织 is written the way
the import finds the group again (its name, or its whole path when another group has the same name),
and every text cell is stored as text, so that Excel keeps the leading zeros of 工号 and 手机号 and a
value someone typed (a name such as "=HYPERLINK(…)") never becomes a formula when the file is opened.

A phone is written in full only for a staff member who may see it (`Staff.can_edit`, as on the member's
page); for anyone else it is masked (138****5678), which the import reads as "no change". An export
takes personal data out of the system, so it is audited (how many rows, whether with full phones, the
filters, a searched phone masked).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backend.audit.operations import record
from backend.crypto import mask_phone
from backend.db import count_rows
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.members.queries import MemberFilters, search_members
from backend.members.roster import reading
from backend.members.roster.groups import GroupIndex
from backend.members.roster.template import COLUMN_WIDTHS, TEMPLATE_HEADER, add_notes_sheet
from backend.spreadsheets import xlsx_bytes

if TYPE_CHECKING:
    from backend.members.models import Member
    from backend.staff.models import Staff

EXPORT_CHUNK = 1000


def export_members(staff: Staff, filters: MemberFilters) -> tuple[bytes, int]:
    """(the .xlsx file, how many members it holds). Flushes the audit row; never commits.

    More members than one import takes (reading.MAX_ROWS) is refused with ValidationFailed: the file
    could not be imported back whole, so narrow the list (a group at a time) instead.
    """
    query = search_members(staff, q=filters.q, group=filters.group, status=filters.status)
    total = count_rows(query)
    limit = reading.MAX_ROWS
    if total > limit:
        raise ValidationFailed(
            f"符合条件的会员有 {total} 人，超过一个名册文件最多能导入的 {limit} 人，请按组织分几次导出"
        )
    groups = GroupIndex(None)
    full = 0
    rows: list[list[Any]] = []
    for member in db.session.scalars(query.execution_options(yield_per=EXPORT_CHUNK)):
        shows_phone = staff.can_edit(member)
        full += bool(shows_phone and member.phone)
        rows.append(_row(member, groups, shows_phone))
    data = _workbook(rows)
    record(
        "member.export",
        staff=staff,
        rows=total,
        full_phones=full,
        filters={
            "q": _masked_query(filters.q),
            "group_id": filters.group.id if filters.group else None,
            "status": filters.status.value if filters.status else None,
        },
    )
    db.session.flush()
    return data, total


def _row(member: Member, groups: GroupIndex, shows_phone: bool) -> list[Any]:
    phone = member.phone if shows_phone else mask_phone(member.phone)
    return [
        member.name,
        member.employee_no,
        phone or None,
        groups.cell(member.group),
        member.birthday,
        member.joined_on,
        member.retires_on,
    ]


def _masked_query(q: str) -> str:
    """A search is recorded as typed, unless it is a phone number: the log never holds one."""
    return (mask_phone(q) or "") if q.isdigit() and len(q) >= 7 else q


def _workbook(rows: list[list[Any]]) -> bytes:
    return xlsx_bytes(
        "会员名册", TEMPLATE_HEADER, rows, widths=COLUMN_WIDTHS, text_stays_text=True, finish=add_notes_sheet
    )
