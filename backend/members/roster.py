"""Roster import (会员名册导入) from Excel (.xlsx) or CSV, by `flask import-roster` and the admin.

Valid rows are kept and bad rows are reported, row by row with the reason; the file is not refused
whole. Staff fix the bad rows and import the same file again: an import is keyed by employee number
(工号), so a row already on the roster updates that member (a change of group is recorded as a
转会 with the reason 名册导入) and a row that matches the roster changes nothing. Each row is applied
inside its own SAVEPOINT, so a row is either applied in full (member, group history, audit rows) or
not at all, even when the database refuses it half-way. A blank optional cell (手机号, 生日, 入会日期)
keeps what the roster already holds; clearing a value is done on the member's page. The admin offers
a dry run (检查) that reports the same errors and counts without writing anything.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.audit.operations import record
from backend.db import unit_of_work
from backend.errors import DomainError, PermissionDenied, ValidationFailed
from backend.extensions import db
from backend.members.binding import normalize_employee_no, normalize_name
from backend.members.models import Group, Member
from backend.members.operations import change_group, create_member, update_member

if TYPE_CHECKING:
    from backend.staff.models import Staff

MAX_ROWS = 20_000
IMPORT_REASON = "名册导入"
HEADER_SEARCH_ROWS = 10  # a title row (“XX工会会员名册”) above the header is common
LOOKUP_CHUNK = 500

Cell = str | date | None

# Column → the header texts staff actually write for it (compared after _header_key).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "职工姓名", "会员姓名"),
    "employee_no": ("工号", "员工号", "员工编号", "职工号", "职工编号"),
    "phone": ("手机号", "手机", "手机号码", "电话", "联系电话"),
    "group": ("所属组织", "组织", "部门", "所属部门", "小组", "所属小组", "工会小组", "分会", "所属分会"),
    "birthday": ("生日", "出生日期"),
    "joined_on": ("入会日期", "入会时间"),
}
REQUIRED = {"name": "姓名", "employee_no": "工号", "group": "所属组织"}
TEMPLATE_HEADER = ["姓名", "工号", "手机号", "所属组织", "生日", "入会日期"]
TEMPLATE_EXAMPLE = ["张三", "10001", "13800000000", "生产分会/装配一组", "1990-01-31", "2020-03-01"]


@dataclass
class RosterRow:
    row_number: int  # as the spreadsheet shows it; the header is row 1
    name: Cell = None
    employee_no: Cell = None
    phone: Cell = None
    group: Cell = None
    birthday: Cell = None
    joined_on: Cell = None


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


# --- reading the file --------------------------------------------------------------------------


def read_rows(data: bytes, filename: str) -> list[RosterRow]:
    """The data rows of an .xlsx (first sheet) or .csv file; raises ValidationFailed for a bad file."""
    suffix = Path(filename or "").suffix.lower()
    if suffix == ".xlsx":
        table = _xlsx_table(data)
    elif suffix == ".csv":
        table = _csv_table(data)
    elif suffix == ".xls":
        raise _refuse("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入")
    else:
        raise _refuse("只能导入 Excel（.xlsx）或 CSV 文件")
    return _rows_from_table(table)


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, errors={"file": [message]})


def _xlsx_table(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    import openpyxl

    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; none of that matters to a roster.
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheet = book.worksheets[0]
    except Exception as exc:  # openpyxl raises a zoo of types for a file that is not a workbook
        raise _refuse("文件不是有效的 Excel（.xlsx）文件，请检查后重新上传") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, list(values)
    except Exception as exc:
        raise _refuse("Excel 文件已损坏，无法读取，请检查后重新上传") from exc
    finally:
        book.close()


def _csv_table(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    if b"\x00" in data:  # a workbook, an image … renamed to .csv
        raise _refuse("文件不是有效的 CSV 文本文件，请检查后重新上传（Excel 文件请保留 .xlsx 扩展名）")
    # Excel saves "CSV UTF-8" with a BOM, and plain "CSV" on Chinese Windows in GBK (GB18030 covers it).
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _refuse("无法识别文件编码，请将 CSV 另存为 UTF-8 或 GBK 编码后重新上传")
    try:
        for number, values in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            yield number, list(values)
    except csv.Error as exc:
        raise _refuse("CSV 文件格式有误，无法读取，请检查后重新上传") from exc


def _header_key(text: Any) -> str:
    """ "姓名 *", "工号（必填）", "手机号(选填)" all name their column."""
    key = "".join(unicodedata.normalize("NFKC", str(text or "")).split())
    return re.sub(r"\(.*?\)|\*", "", key)


def _cell(value: Any) -> Cell:
    """Spreadsheet values as text; dates stay dates; whole numbers lose Excel's ".0"."""
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _rows_from_table(table: Iterable[tuple[int, list[Any]]]) -> list[RosterRow]:
    aliases = {_header_key(alias): column for column, names in COLUMNS.items() for alias in names}
    columns: dict[str, int] | None = None
    first_seen: list[Any] | None = None
    rows: list[RosterRow] = []
    for number, values in table:
        cells = [_cell(v) for v in values]
        if all(c is None for c in cells):
            continue
        if columns is None:
            first_seen = first_seen or values
            found: dict[str, int] = {}
            for index, value in enumerate(values):
                column = aliases.get(_header_key(value))
                if column is not None:
                    found.setdefault(column, index)
            if REQUIRED.keys() <= found.keys():
                columns = found
            elif number >= HEADER_SEARCH_ROWS:
                break
            continue
        if len(rows) >= MAX_ROWS:
            raise _refuse(f"文件超过 {MAX_ROWS} 行，请拆分成几个文件分别导入")
        row = RosterRow(row_number=number)
        for column, index in columns.items():
            setattr(row, column, cells[index] if index < len(cells) else None)
        rows.append(row)
    if first_seen is None:
        raise _refuse("文件是空的，请使用名册模板填写后再导入")
    if columns is None:
        headers = {aliases.get(_header_key(v)) for v in first_seen}
        missing = "、".join(label for column, label in REQUIRED.items() if column not in headers)
        raise _refuse(f"缺少必填列：{missing}（第一行应为表头：{'、'.join(TEMPLATE_HEADER)}）")
    if not rows:
        raise _refuse("文件中只有表头，没有会员数据")
    return rows


# --- checking one row --------------------------------------------------------------------------

_DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
)
_PHONE = re.compile(r"1\d{10}")


def _text(value: Cell) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else value


def parse_date(value: Cell) -> date | None:
    """2024-03-01, 2024/3/1, 2024.3.1, 20240301, 2024年3月1日 or an Excel date cell; None if blank.

    Raises ValueError for anything else, and for dates before 1900 or after today.
    """
    if value is None:
        return None
    if isinstance(value, date):
        parsed = value.date() if isinstance(value, datetime) else value
    else:
        text = unicodedata.normalize("NFKC", value).strip()
        for pattern in _DATE_PATTERNS:
            match = pattern.fullmatch(text)
            if match:
                parsed = date(*(int(part) for part in match.groups()))
                break
        else:
            raise ValueError(value)
    if not date(1900, 1, 1) <= parsed <= date.today():
        raise ValueError(value)
    return parsed


def parse_phone(value: Cell) -> str | None:
    """An 11-digit mobile number starting with 1; spaces, dashes and +86 are dropped. None if blank."""
    if value is None:
        return None
    text = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", _text(value)))
    text = re.sub(r"^(?:\+86|0086)", "", text)
    if len(text) == 13 and text.startswith("86"):
        text = text[2:]
    if not _PHONE.fullmatch(text):
        raise ValueError(value)
    return text


@dataclass
class _Checked:
    """One row after checking: clean values, or the reasons it cannot be applied."""

    row: RosterRow
    name: str
    employee_no: str
    phone: str | None
    birthday: date | None
    joined_on: date | None
    reasons: list[str]
    group: Group | None = None


def _check(row: RosterRow) -> _Checked:
    reasons = []
    name = normalize_name(_text(row.name))
    employee_no = normalize_employee_no(_text(row.employee_no))
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
    try:
        phone = parse_phone(row.phone)
    except ValueError:
        phone = None
        reasons.append("手机号格式不正确")
    dates: dict[str, date | None] = {}
    for column, label in (("birthday", "生日"), ("joined_on", "入会日期")):
        try:
            dates[column] = parse_date(getattr(row, column))
        except ValueError:
            dates[column] = None
            reasons.append(f"{label}格式不正确（{_text(getattr(row, column))}）")
    return _Checked(row, name, employee_no, phone, dates["birthday"], dates["joined_on"], reasons)


class _GroupIndex:
    """The whole group tree, loaded once, to resolve 所属组织 cells by name or by path."""

    def __init__(self, scope: Group | None) -> None:
        groups = db.session.scalars(sa.select(Group)).all()
        self.scope = scope
        self.by_id = {g.id: g for g in groups}
        self.by_name: dict[str, list[Group]] = {}
        for group in groups:
            self.by_name.setdefault(_group_key(group.name), []).append(group)
        self._cache: dict[str, tuple[Group | None, str | None]] = {}

    def in_scope(self, group: Group) -> bool:
        return self.scope is None or self.scope.contains(group)

    def chain(self, group: Group) -> list[Group]:
        ids = [int(part) for part in group.path.strip("/").split("/") if part]
        return [self.by_id[i] for i in ids if i in self.by_id]

    def label(self, group: Group) -> str:
        chain = self.chain(group)
        return "/".join(g.name for g in (chain[1:] if len(chain) > 1 else chain))

    def resolve(self, text: str) -> tuple[Group | None, str | None]:
        """(group, None) or (None, the reason in Chinese); answers are cached per distinct cell."""
        if text not in self._cache:
            self._cache[text] = self._resolve(text)
        return self._cache[text]

    def _resolve(self, text: str) -> tuple[Group | None, str | None]:
        # The whole cell as one name first: a group may be called "一车间-甲班".
        candidates = self.by_name.get(_group_key(text), [])
        parts = [_group_key(p) for p in re.split(r"[/>\-]", unicodedata.normalize("NFKC", text))]
        parts = [p for p in parts if p]
        if not candidates and len(parts) > 1:
            candidates = [
                g
                for g in self.by_name.get(parts[-1], [])
                if [_group_key(c.name) for c in self.chain(g)][-len(parts) :] == parts
            ]
        if not candidates:
            return None, f"找不到组织「{text}」"
        mine = [g for g in candidates if self.in_scope(g)]
        if not mine:
            return None, f"组织「{text}」不在您的管理范围内"
        if len(mine) > 1:
            examples = "、".join(f"「{self.label(g)}」" for g in mine[:3])
            return None, f"有多个名为「{text}」的组织，请写明上级组织，如 {examples}"
        return mine[0], None


def _group_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split())


# --- importing ---------------------------------------------------------------------------------


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
    if staff is not None and not staff.can("import_roster"):
        raise PermissionDenied("您没有导入会员名册的权限")
    checked = [_check(row) for row in rows]
    report = ImportReport(total=len(checked), dry_run=dry_run)
    _mark_duplicates(checked)
    groups = _GroupIndex(staff.scope if staff is not None else None)
    existing = _members_by_employee_no({c.employee_no for c in checked if c.employee_no})

    for done, item in enumerate(checked, start=1):
        if item.row.group is not None:
            item.group, reason = groups.resolve(_text(item.row.group))
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


def _mark_duplicates(checked: list[_Checked]) -> None:
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


def _differs(item: _Checked, member: Member) -> bool:
    return (
        item.name != member.name
        or item.group is None
        or item.group.id != member.group_id
        or (item.phone is not None and item.phone != member.phone)
        or (item.birthday is not None and item.birthday != member.birthday)
        or (item.joined_on is not None and item.joined_on != member.joined_on)
    )


def _apply(item: _Checked, member: Member | None, staff: Staff | None, report: ImportReport) -> bool:
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


def _row_error(item: _Checked, reasons: list[str]) -> RowError:
    return RowError(
        row_number=item.row.row_number,
        employee_no=item.employee_no or _text(item.row.employee_no),
        name=item.name or _text(item.row.name),
        reasons=list(reasons),
    )


# --- template and the shell --------------------------------------------------------------------


def template_bytes(fmt: str) -> bytes:
    """A blank roster template ("xlsx" or "csv"): the header row and one example row."""
    if fmt == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(TEMPLATE_HEADER)
        writer.writerow(TEMPLATE_EXAMPLE)
        return out.getvalue().encode("utf-8-sig")  # the BOM tells Excel it is UTF-8
    if fmt != "xlsx":
        raise ValueError(f"unknown template format {fmt!r}")
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "会员名册"
    sheet.append(TEMPLATE_HEADER)
    sheet.append(TEMPLATE_EXAMPLE)
    for letter, width in zip("ABCDEF", (12, 14, 16, 28, 14, 14), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2, max_row=2):
        for cell in row:
            cell.number_format = "@"  # text, so Excel keeps leading zeros of 工号 and 手机号
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run_cli_import(path: Path, *, dry_run: bool) -> None:
    """`flask import-roster`: valid rows are committed; bad rows are listed and the exit code is 1."""
    try:
        rows = read_rows(path.read_bytes(), path.name)
    except ValidationFailed as exc:
        raise click.ClickException(exc.message) from exc
    with unit_of_work(), click.progressbar(length=len(rows), label="检查中" if dry_run else "导入中") as bar:
        shown = 0

        def advance(done: int, total: int) -> None:
            nonlocal shown
            bar.update(done - shown)
            shown = done

        report = import_rows(rows, staff=None, dry_run=dry_run, progress=advance)
    verb = "将" if dry_run else "已"
    click.echo(
        f"共 {report.total} 行：{verb}新增 {report.created}，{verb}更新 {report.updated}，"
        f"无变化 {report.unchanged}，有误 {len(report.errors)}"
    )
    for error in report.errors:
        click.echo(
            f"  第 {error.row_number} 行（工号 {error.employee_no or '空'}）：{'；'.join(error.reasons)}"
        )
    if dry_run:
        click.echo("试运行：未写入任何数据。")
    if report.errors:
        kept = "其余各行已导入" if not dry_run else "请修改后重新导入"
        raise click.ClickException(f"{len(report.errors)} 行有误，未导入；{kept}")
