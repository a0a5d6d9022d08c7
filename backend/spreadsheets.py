"""Excel (.xlsx) exports: one sheet of rows under a header, written streaming by openpyxl.

Text is always stored as text, never as a formula, whatever it starts with ("=", "+", "@"): a name or
a detail typed by anyone cannot run in the office's Excel (formula injection).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

DATE = "yyyy-mm-dd"
DATE_TIME = "yyyy-mm-dd hh:mm:ss"


def xlsx_bytes(
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    widths: Sequence[float] = (),
    text_stays_text: bool = False,
    finish: Callable[[Any], None] | None = None,
) -> bytes:
    """The workbook: sheet `title` with `header` and `rows`; dates and times shown as such.

    `text_stays_text` also marks text cells as Text (@) for whoever edits the file, so an employee
    number like 000123 keeps its zeros when re-saved; `finish(book)` may add sheets after the data.
    """
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(title)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.append(list(header))
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
                if text_stays_text:
                    cell.number_format = "@"
            elif isinstance(value, datetime):
                cell.number_format = DATE_TIME
            elif isinstance(value, date):
                cell.number_format = DATE
            cells.append(cell)
        sheet.append(cells)
    if finish is not None:
        finish(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
