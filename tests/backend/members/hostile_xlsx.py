"""Hostile .xlsx files, written part by part with zipfile: what openpyxl would never write itself.

The smallest workbook Excel and openpyxl open has five parts; the sheet's XML is ours, so it may
declare any <dimension>, put a cell a million rows down or 16,384 columns across, or pad a row with
cells that compress to nothing.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS}">'
    f'<Relationship Id="rId1" Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}">'
    '<sheets><sheet name="会员名册" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS}">'
    f'<Relationship Id="rId1" Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)

HEADER = ["姓名", "工号", "手机号", "所属组织", "生日", "入会日期"]
WHOLE_SHEET = "A1:XFD1048576"  # every cell Excel has: 16,384 columns × 1,048,576 rows


def cell(row: int, column: int, value: str) -> str:
    return f'<c r="{get_column_letter(column)}{row}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'


def row_xml(number: int, values: Sequence[str | None], *, first_column: int = 1) -> str:
    cells = "".join(cell(number, first_column + i, v) for i, v in enumerate(values) if v is not None)
    return f'<row r="{number}">{cells}</row>'


def workbook(sheet_data: str, dimension: str | None = WHOLE_SHEET) -> bytes:
    """A one-sheet workbook whose <sheetData> is `sheet_data` and whose declared size is `dimension`."""
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">{declared}'
        f"<sheetData>{sheet_data}</sheetData></worksheet>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


def bomb(*members: Sequence[str | None]) -> bytes:
    """The 2 KB file that kept a worker busy for minutes: the template's header and a few members,
    a sheet that declares every cell Excel has, and one cell in the very last of them (XFD1048576)."""
    rows = [row_xml(1, HEADER)] + [row_xml(n, values) for n, values in enumerate(members, start=2)]
    rows.append(row_xml(1_048_576, ["far away"], first_column=16_384))
    return workbook("".join(rows))
