"""The blank roster template that staff download and fill in."""

from __future__ import annotations

import csv
import io

TEMPLATE_HEADER = ["姓名", "工号", "手机号", "所属组织", "生日", "入会日期"]
TEMPLATE_EXAMPLE = ["张三", "10001", "13800000000", "生产分会/装配一组", "1990-01-31", "2020-03-01"]


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
