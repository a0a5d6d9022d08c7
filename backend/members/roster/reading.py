"""Reading a roster file: the data rows of an .xlsx (first sheet) or .csv, found under its header row."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from backend.errors import ValidationFailed
from backend.members.roster.template import TEMPLATE_HEADER

MAX_ROWS = 20_000
HEADER_SEARCH_ROWS = 10  # a title row (“XX工会会员名册”) above the header is common

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


@dataclass
class RosterRow:
    row_number: int  # as the spreadsheet shows it; the header is row 1
    name: Cell = None
    employee_no: Cell = None
    phone: Cell = None
    group: Cell = None
    birthday: Cell = None
    joined_on: Cell = None


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
