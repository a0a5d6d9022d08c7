"""The blank roster template that staff download and fill in.

It holds no member row: an example left in place would be imported as a member (张三, 工号 10001). The
.xlsx shows the example on a second sheet, 说明, which the import never reads (only the first sheet is a
roster); the .csv, having one sheet, is the header alone.
"""

from __future__ import annotations

import csv
import io
from typing import Any

TEMPLATE_HEADER = ["姓名", "工号", "手机号", "所属组织", "生日", "入会日期", "退休日期"]
TEMPLATE_EXAMPLE = [
    "张三",
    "10001",
    "13800000000",
    "生产分会/装配一组",
    "1990-01-31",
    "2020-03-01",
    "2050-01-31",
]
REQUIRED_COLUMNS = ["姓名", "工号", "所属组织"]  # as reading.REQUIRED names them; the upload page says so
COLUMN_WIDTHS = (12, 14, 16, 28, 14, 14, 14)
NOTES_SHEET = "说明"
NOTES = [
    "填写说明（本工作表不会导入）",
    "1. 在第一个工作表「会员名册」中，从第二行起每行填写一名会员，不要改动第一行的表头。",
    f"2. 必填：{'、'.join(REQUIRED_COLUMNS)}；选填：手机号、生日、入会日期、退休日期"
    "（留空则保留名册中已有的内容）。",
    "3. 所属组织：填写组织名称；有同名组织时写出上级组织，用“/”分隔，如「生产分会/装配一组」。",
    "4. 日期：写成 2024-05-01（也可以写 2024/5/1、2024年5月1日，或使用 Excel 日期格式）。",
    "5. 退休日期：可填将来的日期（如 2031-06-30），工会据此在关怀提醒中列出即将退休的会员。",
    "6. 手机号：11 位手机号码；从名册导出的文件中带星号的号码（如 138****5678）视为未填写，保留原号码。",
    "7. 工号已在名册中的会员按表格更新资料，组织变化记为转会；同一文件重复导入不会产生重复数据。",
    "",
    "示例（请填写在「会员名册」工作表中，不要填在这里）：",
]


def template_bytes(fmt: str) -> bytes:
    """A blank roster template ("xlsx" or "csv"): the header row, and no member row."""
    if fmt == "csv":
        out = io.StringIO(newline="")
        csv.writer(out, lineterminator="\r\n").writerow(TEMPLATE_HEADER)
        return out.getvalue().encode("utf-8-sig")  # the BOM tells Excel it is UTF-8
    if fmt != "xlsx":
        raise ValueError(f"unknown template format {fmt!r}")
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "会员名册"
    sheet.append(TEMPLATE_HEADER)
    for letter, width in zip("ABCDEFG", COLUMN_WIDTHS, strict=True):
        sheet.column_dimensions[letter].width = width
    for letter in "ABCD":
        # Text, so Excel keeps the leading zeros of 工号 and 手机号 typed into these columns.
        sheet.column_dimensions[letter].number_format = "@"
    add_notes_sheet(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def add_notes_sheet(book: Any) -> None:
    """The 说明 sheet (the template's and the export's): how to fill the roster in, with the example."""
    notes = book.create_sheet(NOTES_SHEET)
    for line in NOTES:
        notes.append([line])
    notes.append(TEMPLATE_HEADER)
    notes.append(TEMPLATE_EXAMPLE)
    for letter, width in zip("ABCDEFG", COLUMN_WIDTHS, strict=True):
        notes.column_dimensions[letter].width = width
