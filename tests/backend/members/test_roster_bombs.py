"""Hostile roster files are read within fixed bounds: the real rows, or a clear refusal, at once.

No timing here: what is asserted is what the reader asks openpyxl for (how many columns, how many
rows), which is what made a 1.6 KB file declaring A1:XFD1048576 cost minutes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from backend.errors import ValidationFailed
from backend.members.roster import reading
from backend.members.roster.reading import (
    BLANK_RUN_ENDS_TABLE,
    HEADER_SEARCH_COLUMNS,
    HEADER_SEARCH_ROWS,
    MAX_XLSX_UNPACKED_BYTES,
    read_rows,
)
from tests.backend.members.hostile_xlsx import HEADER, WHOLE_SHEET, bomb, row_xml, workbook
from tests.factories import make_union

MEMBER = ["张三", "E1", None, "甲一组", None, None]


def refusal(data: bytes, filename: str = "名册.xlsx") -> str:
    with pytest.raises(ValidationFailed) as caught:
        read_rows(data, filename)
    return caught.value.message


class OpenpyxlSpy:
    """Records what the reader asks openpyxl's read-only sheet for, and counts the rows it takes.

    Bounded itself: a row wider than HEADER_SEARCH_COLUMNS, or more rows than `budget`, is recorded
    and ends the iteration, so a reader without bounds fails here at once instead of running for
    minutes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, budget: int) -> None:
        self.calls: list[dict[str, Any]] = []
        self.rows_taken = 0
        self.overruns: list[str] = []
        original = ReadOnlyWorksheet.iter_rows
        spy = self

        def iter_rows(sheet: ReadOnlyWorksheet, *args: Any, **kwargs: Any) -> Iterator[Any]:
            spy.calls.append(kwargs)
            for row in original(sheet, *args, **kwargs):
                spy.rows_taken += 1
                if len(row) > HEADER_SEARCH_COLUMNS:
                    spy.overruns.append(f"a row of {len(row)} cells")
                    return
                if spy.rows_taken > budget:
                    spy.overruns.append(f"more than {budget} rows")
                    return
                yield row

        monkeypatch.setattr(ReadOnlyWorksheet, "iter_rows", iter_rows)


def test_the_bomb_is_small_and_reads_as_its_real_rows():
    data = bomb(MEMBER, ["李四", "E2", None, "甲一组", None, None])
    assert len(data) < 2048
    first, second = read_rows(data, "名册.xlsx")
    assert (first.row_number, first.name, second.row_number, second.name) == (2, "张三", 3, "李四")


def test_the_reader_asks_openpyxl_for_the_templates_columns_and_stops_after_a_run_of_blank_rows(
    monkeypatch,
):
    spy = OpenpyxlSpy(monkeypatch, budget=10_000)
    (row,) = read_rows(bomb(MEMBER), "名册.xlsx")
    assert row.name == "张三" and spy.overruns == []
    # The header is looked for in a bounded width; the data rows are read only as wide as the
    # template's six columns (the rightmost one the header names).
    assert [call.get("max_col") for call in spy.calls] == [HEADER_SEARCH_COLUMNS, len(HEADER)]
    # Header row + member row + the blank rows that end the table, from each of the two reads; never
    # the million rows down to the far cell.
    assert spy.rows_taken <= 2 * (2 + BLANK_RUN_ENDS_TABLE)


def test_a_cell_far_to_the_right_is_never_read(monkeypatch):
    spy = OpenpyxlSpy(monkeypatch, budget=100)
    far = row_xml(2, MEMBER) + row_xml(3, ["李四", "E2", None, "甲一组"]).replace(
        "</row>", '<c r="XFD3" t="inlineStr"><is><t>x</t></is></c></row>'
    )
    rows = read_rows(workbook(row_xml(1, HEADER) + far), "名册.xlsx")
    assert [r.name for r in rows] == ["张三", "李四"] and spy.overruns == []


def test_rows_past_a_dimension_that_declares_less_are_read_too():
    """The declared size can lie either way: "A1:F2" over five members must not drop four."""
    members = "".join(row_xml(n, [f"职工{n}", f"E{n}", None, "甲一组"]) for n in range(2, 7))
    rows = read_rows(workbook(row_xml(1, HEADER) + members, dimension="A1:F2"), "名册.xlsx")
    assert [r.employee_no for r in rows] == ["E2", "E3", "E4", "E5", "E6"]


def test_the_row_limit_counts_while_reading_whatever_the_file_declares(monkeypatch):
    monkeypatch.setattr(reading, "MAX_ROWS", 3)
    members = "".join(row_xml(n, [f"职工{n}", f"E{n}", None, "甲一组"]) for n in range(2, 6))
    for dimension in ("A1:F2", WHOLE_SHEET, None):
        message = refusal(workbook(row_xml(1, HEADER) + members, dimension=dimension))
        assert "文件超过 3 行" in message, dimension


def test_a_part_that_unpacks_past_the_limit_is_refused_before_openpyxl_reads_it(monkeypatch):
    spy = OpenpyxlSpy(monkeypatch, budget=100)
    padding = "<c><v>1</v></c>" * 400_000  # 6 MB of cells, a few KB once compressed
    data = workbook(row_xml(1, HEADER) + row_xml(2, MEMBER).replace("</row>", padding + "</row>"))
    assert len(data) < 64 * 1024
    monkeypatch.setattr(reading, "MAX_XLSX_UNPACKED_BYTES", 1024 * 1024)
    assert "解压后超过 1 MB" in refusal(data)
    assert spy.calls == []


def test_the_unpacked_limit_leaves_room_for_a_large_real_roster():
    """20,000 members in the template's six columns, as openpyxl writes them (inline strings, the
    largest way), unpack to well under the limit: measured on 2,000."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for n in range(2000):
        sheet.append(
            [f"职工{n}", f"E{n:06d}", "13800000000", "生产分会/装配一组", "1990-01-31", "2020-03-01"]
        )
    out = io.BytesIO()
    book.save(out)
    assert reading._unpacked_size(out.getvalue()) * 10 < MAX_XLSX_UNPACKED_BYTES / 3


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_run_of_blank_rows_ends_the_table(fmt):
    def file(blank_rows: int) -> bytes:
        rows = [HEADER, MEMBER, *([[None] * 6] * blank_rows), ["李四", "E2", None, "甲一组", None, None]]
        if fmt == "csv":
            out = io.StringIO(newline="")
            csv.writer(out).writerows(rows)
            return out.getvalue().encode()
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)
        saved = io.BytesIO()
        book.save(saved)
        return saved.getvalue()

    below_the_gap = read_rows(file(BLANK_RUN_ENDS_TABLE - 1), f"名册.{fmt}")
    assert [r.name for r in below_the_gap] == ["张三", "李四"]
    (only,) = read_rows(file(BLANK_RUN_ENDS_TABLE), f"名册.{fmt}")
    assert only.name == "张三"


def test_the_header_is_looked_for_in_the_first_columns():
    def header_from(column: int) -> bytes:
        return workbook(row_xml(1, HEADER, first_column=column) + row_xml(2, MEMBER, first_column=column))

    # 入会日期, the header's sixth column, in the last column searched: all found.
    (row,) = read_rows(header_from(HEADER_SEARCH_COLUMNS - 5), "名册.xlsx")
    assert (row.row_number, row.name, row.group) == (2, "张三", "甲一组")
    # 所属组织, the fourth, one column past it: not found.
    assert "缺少必填列：所属组织" in refusal(header_from(HEADER_SEARCH_COLUMNS - 2))


def test_a_title_row_may_stand_above_the_header_up_to_the_search_rows():
    title = row_xml(1, ["示范公司工会会员名册"])
    blank_then_header = row_xml(HEADER_SEARCH_ROWS, HEADER) + row_xml(HEADER_SEARCH_ROWS + 1, MEMBER)
    (row,) = read_rows(workbook(title + blank_then_header), "名册.xlsx")
    assert row.row_number == HEADER_SEARCH_ROWS + 1


def test_flask_import_roster_reads_a_bomb_as_its_real_rows(app, tmp_path):
    make_union(app)
    path = tmp_path / "名册.xlsx"
    path.write_bytes(bomb(MEMBER))
    result = app.test_cli_runner().invoke(args=["import-roster", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "共 1 行：将新增 1" in result.output


def test_flask_import_roster_refuses_a_file_that_unpacks_past_the_limit(app, tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "MAX_XLSX_UNPACKED_BYTES", 1024)
    path = tmp_path / "名册.xlsx"
    path.write_bytes(bomb(MEMBER))
    result = app.test_cli_runner().invoke(args=["import-roster", str(path)])
    assert result.exit_code == 1 and "解压后超过" in result.output
