"""Applying checked rows to the roster: create or update by 工号, each row in its own SAVEPOINT."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.audit.operations import record
from backend.errors import DomainError, PermissionDenied
from backend.extensions import db
from backend.members.models import Member
from backend.members.operations import change_group, create_member, update_member
from backend.members.roster.checking import CheckedRow, cell_text, check_row
from backend.members.roster.groups import GroupIndex
from backend.members.roster.reading import RosterRow
from backend.staff.permissions import Permission

if TYPE_CHECKING:
    from backend.staff.models import Staff

IMPORT_REASON = "名册导入"
LOOKUP_CHUNK = 500


@dataclass
class RowError:
    row_number: int
    employee_no: str
    name: str
    reasons: list[str]


@dataclass
class ImportReport:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def import_rows(
    rows: Iterable[RosterRow],
    *,
    staff: Staff | None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Applies the rows to the roster; bad rows are reported, not applied. Flushes, never commits.

    `staff` is None only for the trusted operator at the shell; otherwise scope is enforced row by row
    and the audit log names who imported.
    """
    if staff is not None and not staff.can(Permission.import_roster):
        raise PermissionDenied("您没有导入会员名册的权限")
    checked = [check_row(row) for row in rows]
    report = ImportReport(total=len(checked), dry_run=dry_run)
    _mark_duplicates(checked)
    groups = GroupIndex(staff.scope if staff is not None else None)
    existing = _members_by_employee_no({c.employee_no for c in checked if c.employee_no})

    for done, item in enumerate(checked, start=1):
        if item.row.group is not None:
            item.group, reason = groups.resolve(cell_text(item.row.group))
            if reason:
                item.reasons.append(reason)
        member = existing.get(item.employee_no)
        if member is not None and not groups.in_scope(member.group):
            item.reasons.append("该工号的会员不在您的管理范围内")
        if item.reasons:
            report.errors.append(_row_error(item, item.reasons))
        elif member is None:
            if dry_run or _apply(item, None, staff, report):
                report.created += 1
        elif not _differs(item, member):
            report.unchanged += 1
        elif dry_run or _apply(item, member, staff, report):
            report.updated += 1
        if progress is not None:
            progress(done, report.total)

    if not dry_run:
        record(
            "roster.import",
            staff=staff,
            total=report.total,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            errors=len(report.errors),
        )
        db.session.flush()
    return report


def _mark_duplicates(checked: list[CheckedRow]) -> None:
    """Every row of a repeated employee number is refused: which one is right is the staff's call."""
    rows_by_no: dict[str, list[int]] = {}
    for item in checked:
        if item.employee_no:
            rows_by_no.setdefault(item.employee_no, []).append(item.row.row_number)
    for item in checked:
        others = [n for n in rows_by_no.get(item.employee_no, []) if n != item.row.row_number]
        if others:
            item.reasons.append(f"文件中工号重复（第 {'、'.join(map(str, others))} 行）")


def _members_by_employee_no(numbers: set[str]) -> dict[str, Member]:
    found: dict[str, Member] = {}
    ordered = sorted(numbers)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        for member in db.session.scalars(sa.select(Member).where(Member.employee_no.in_(chunk))):
            found[member.employee_no] = member
    return found


def _differs(item: CheckedRow, member: Member) -> bool:
    return (
        item.name != member.name
        or item.group is None
        or item.group.id != member.group_id
        or (item.phone is not None and item.phone != member.phone)
        or (item.birthday is not None and item.birthday != member.birthday)
        or (item.joined_on is not None and item.joined_on != member.joined_on)
    )


def _apply(item: CheckedRow, member: Member | None, staff: Staff | None, report: ImportReport) -> bool:
    """Writes one row inside its own SAVEPOINT; on failure records why and leaves nothing behind."""
    assert item.group is not None
    try:
        with db.session.begin_nested():
            if member is None:
                create_member(
                    staff=staff,
                    name=item.name,
                    employee_no=item.employee_no,
                    group=item.group,
                    phone=item.phone,
                    birthday=item.birthday,
                    joined_on=item.joined_on,
                    employee_no_checked=True,  # looked up in bulk above; the unique index still holds
                )
            else:
                update_member(
                    member,
                    staff=staff,
                    name=item.name,
                    employee_no=member.employee_no,
                    phone=item.phone if item.phone is not None else member.phone,
                    birthday=item.birthday or member.birthday,
                    joined_on=item.joined_on or member.joined_on,
                    reason=IMPORT_REASON,
                )
                change_group(member, item.group, staff=staff, reason=IMPORT_REASON)
            db.session.flush()
    except DomainError as exc:
        report.errors.append(_row_error(item, [exc.message]))
        return False
    except IntegrityError:
        # Someone else changed the roster or the tree between our look-up and this write.
        message = "保存时与他人同时进行的修改冲突（工号已被占用或组织已被删除），请核对后重新导入"
        report.errors.append(_row_error(item, [message]))
        return False
    return True


def _row_error(item: CheckedRow, reasons: list[str]) -> RowError:
    return RowError(
        row_number=item.row.row_number,
        employee_no=item.employee_no or cell_text(item.row.employee_no),
        name=item.name or cell_text(item.row.name),
        reasons=list(reasons),
    )
