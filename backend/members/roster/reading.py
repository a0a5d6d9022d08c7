"""Reading a roster file: the data rows of an .xlsx (first sheet) or .csv, found under its header row.

A file is read within fixed bounds, whatever it declares, so that a small hostile file cannot keep a
worker busy: an .xlsx is refused when its parts unpack to more than MAX_XLSX_UNPACKED_BYTES; the
header is looked for in the first HEADER_SEARCH_ROWS rows and HEADER_SEARCH_COLUMNS columns; data rows
are read only as wide as the rightmost column the header names; BLANK_RUN_ENDS_TABLE blank rows in a
row end the table; more than MAX_ROWS member rows refuse the file. The <dimension> an .xlsx declares
("A1:XFD1048576" in a 2 KB file) is ignored: only the rows the file holds are read.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from backend.errors import ValidationFailed
from backend.members.roster.template import TEMPLATE_HEADER

MAX_ROWS = 20_000  # member rows in one file; blank rows do not count
HEADER_SEARCH_ROWS = 10  # a title row (“XX工会会员名册”) above the header is common
HEADER_SEARCH_COLUMNS = 30  # A … AD: room for a 序号 or 备注 column or two beside the template's six
BLANK_RUN_ENDS_TABLE = 50  # blank rows in a row after which nothing more is read
MAX_XLSX_UNPACKED_BYTES = 32 * 1024 * 1024  # a 20,000-row roster with 20 columns unpacks to about 24 MB

Cell = str | date | None
# read(first_row, width): (row number, values) from that row on, each row cut to `width` values.
TableReader = Callable[[int, int], Iterator[tuple[int, Sequence[Any]]]]

# Column → the header texts staff actually write for it (compared after _header_key).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "职工姓名", "会员姓名"),
    "employee_no": ("工号", "员工号", "员工编号", "职工号", "职工编号"),
    "phone": ("手机号", "手机", "手机号码", "电话", "联系电话"),
    "group": ("所属组织", "组织", "部门", "所属部门", "小组", "所属小组", "工会小组", "分会", "所属分会"),
    "birthday": ("生日", "出生日期"),
    "joined_on": ("入会日期", "入会时间"),
    "retires_on": ("退休日期", "退休时间"),
}
REQUIRED = {"name": "姓名", "employee_no": "工号", "group": "所属组织"}


@dataclass
class RosterRow:
    row_number: int  # as the spreadsheet shows it; the header is row 1
    name: Cell = None
    employee_no: Cell = None
    phone: Cell = None
    group: Cell = None
    birthday: Cell = None
    joined_on: Cell = None
    retires_on: Cell = None


def read_rows(data: bytes, filename: str) -> list[RosterRow]:
    """The data rows of an .xlsx (first sheet) or .csv file; raises ValidationFailed for a bad file."""
    suffix = Path(filename or "").suffix.lower()
    if suffix == ".xlsx":
        with _xlsx_table(data) as read:
            return _rows_from_table(read)
    if suffix == ".csv":
        return _rows_from_table(_csv_table(data))
    if suffix == ".xls":
        raise _refuse("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入")
    raise _refuse("只能导入 Excel（.xlsx）或 CSV 文件")


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, errors={"file": [message]})


def _unpacked_size(data: bytes) -> int:
    """What the parts of an .xlsx (a zip) unpack to, as the archive says; zipfile never unpacks a part
    past the size it declares, so the sum bounds what openpyxl can be made to parse."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(info.file_size for info in archive.infolist())
    except Exception as exc:  # not a zip at all, or a broken one
        raise _refuse("文件不是有效的 Excel（.xlsx）文件，请检查后重新上传") from exc


@contextmanager
def _xlsx_table(data: bytes) -> Iterator[TableReader]:
    import openpyxl

    if _unpacked_size(data) > MAX_XLSX_UNPACKED_BYTES:
        raise _refuse(
            f"Excel 文件解压后超过 {MAX_XLSX_UNPACKED_BYTES // (1024 * 1024)} MB，无法读取。"
            "请删除多余的工作表和空白格式后重新保存，或另存为 CSV 后导入"
        )
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; none of that matters to a roster.
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises a zoo of types for a file that is not a workbook
        raise _refuse("文件不是有效的 Excel（.xlsx）文件，请检查后重新上传") from exc
    try:
        if not book.worksheets:
            raise _refuse("文件不是有效的 Excel（.xlsx）文件，请检查后重新上传")
        sheet = book.worksheets[0]
        # The <dimension> the file declares would have openpyxl pad every row to its width and the
        # sheet to its height (A1:XFD1048576: 16,384 × 1,048,576 cells); without it only the rows the
        # file holds are read, each only as wide as asked.
        sheet.reset_dimensions()

        def read(first: int, width: int) -> Iterator[tuple[int, Sequence[Any]]]:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rows = sheet.iter_rows(min_row=first, max_col=width, values_only=True)
                    yield from enumerate(rows, start=first)
            except Exception as exc:
                raise _refuse("Excel 文件已损坏，无法读取，请检查后重新上传") from exc

        yield read
    finally:
        book.close()


def _csv_table(data: bytes) -> TableReader:
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

    def read(first: int, width: int) -> Iterator[tuple[int, Sequence[Any]]]:
        try:
            for number, values in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
                if number >= first:
                    yield number, values[:width]
        except csv.Error as exc:
            raise _refuse("CSV 文件格式有误，无法读取，请检查后重新上传") from exc

    return read


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


def _non_blank_rows(
    table: Iterator[tuple[int, Sequence[Any]]],
) -> Iterator[tuple[int, Sequence[Any], list[Cell]]]:
    """(row number, values, cells) of each row with something in it, until BLANK_RUN_ENDS_TABLE blank
    rows in a row: below those nothing is read (a sheet may hold one stray cell a million rows down)."""
    with closing(table):
        blank_run = 0
        for number, values in table:
            cells = [_cell(v) for v in values]
            if all(c is None for c in cells):
                blank_run += 1
                if blank_run >= BLANK_RUN_ENDS_TABLE:
                    return
                continue
            blank_run = 0
            yield number, values, cells


def _find_header(read: TableReader) -> tuple[int, dict[str, int]]:
    """The header's row number and, per column it names, the column's index."""
    aliases = {_header_key(alias): column for column, names in COLUMNS.items() for alias in names}
    first_seen: Sequence[Any] | None = None
    with closing(_non_blank_rows(read(1, HEADER_SEARCH_COLUMNS))) as rows:
        for number, values, _cells in rows:
            first_seen = first_seen or values
            found: dict[str, int] = {}
            for index, value in enumerate(values):
                column = aliases.get(_header_key(value))
                if column is not None:
                    found.setdefault(column, index)
            if REQUIRED.keys() <= found.keys():
                return number, found
            if number >= HEADER_SEARCH_ROWS:
                break
    if first_seen is None:
        raise _refuse("文件是空的，请使用名册模板填写后再导入")
    headers = {aliases.get(_header_key(v)) for v in first_seen}
    missing = "、".join(label for column, label in REQUIRED.items() if column not in headers)
    raise _refuse(f"缺少必填列：{missing}（第一行应为表头：{'、'.join(TEMPLATE_HEADER)}）")


def _rows_from_table(read: TableReader) -> list[RosterRow]:
    header_row, columns = _find_header(read)
    # Only as wide as the rightmost column the header names: nothing beside the roster is read.
    width = max(columns.values()) + 1
    rows: list[RosterRow] = []
    with closing(_non_blank_rows(read(header_row + 1, width))) as table:
        for number, _values, cells in table:
            if len(rows) >= MAX_ROWS:
                raise _refuse(f"文件超过 {MAX_ROWS} 行，请拆分成几个文件分别导入")
            row = RosterRow(row_number=number)
            for column, index in columns.items():
                setattr(row, column, cells[index] if index < len(cells) else None)
            rows.append(row)
    if not rows:
        raise _refuse("文件中只有表头，没有会员数据")
    return rows
