"""Reading roster files: xlsx and csv, Chinese headers and their aliases, refusals of bad files."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import openpyxl
import pytest

from backend.errors import ValidationFailed
from backend.members.roster import (
    MAX_ROWS,
    TEMPLATE_EXAMPLE,
    TEMPLATE_HEADER,
    parse_date,
    parse_phone,
    read_rows,
    template_bytes,
)
from backend.members.roster.reading import REQUIRED
from backend.members.roster.template import REQUIRED_COLUMNS

HEADER = ["姓名", "工号", "手机号", "所属组织", "生日", "入会日期"]


def xlsx_file(*rows: list[object]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_file(*rows: list[object], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def refusal(data: bytes, filename: str) -> str:
    with pytest.raises(ValidationFailed) as caught:
        read_rows(data, filename)
    return caught.value.message


def test_xlsx_rows_come_with_spreadsheet_row_numbers_and_typed_cells():
    data = xlsx_file(
        HEADER,
        ["张三", 10001, 13800000001.0, "甲一组", datetime(1990, 1, 2), date(2020, 3, 1)],
        [None, None, None, None, None, None],  # a blank row is skipped, not reported
        [" 李四 ", "E0002", None, "甲分会/甲一组", "1991-05-06", None],
    )
    first, second = read_rows(data, "名册.xlsx")
    assert (first.row_number, second.row_number) == (2, 4)
    assert first.employee_no == "10001" and first.phone == "13800000001"  # numbers lose Excel's ".0"
    assert first.birthday == datetime(1990, 1, 2) and first.joined_on == datetime(2020, 3, 1)
    assert (second.name, second.employee_no, second.group, second.phone) == (
        "李四",
        "E0002",
        "甲分会/甲一组",
        None,
    )


def test_headers_may_use_aliases_in_any_order_and_extra_columns_are_ignored():
    data = csv_file(
        ["备注", "部门", "电话", "工号", "姓名（必填）", "出生日期", "入会时间"],
        ["老员工", "甲一组", "13800000001", "E1", "张三", "1990-01-02", "2020-03-01"],
    )
    (row,) = read_rows(data, "x.csv")
    assert (row.name, row.employee_no, row.phone, row.group) == ("张三", "E1", "13800000001", "甲一组")
    assert (row.birthday, row.joined_on) == ("1990-01-02", "2020-03-01")


def test_a_title_row_above_the_header_is_allowed():
    data = xlsx_file(["示范公司工会会员名册"], HEADER, ["张三", "E1", None, "甲一组", None, None])
    (row,) = read_rows(data, "x.xlsx")
    assert row.row_number == 3 and row.name == "张三"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk", "gb18030"])
def test_csv_in_utf8_with_or_without_bom_and_in_gbk(encoding):
    (row,) = read_rows(
        csv_file(HEADER, ["欧阳娜娜", "E1", "", "装配一组", "", ""], encoding=encoding), "a.csv"
    )
    assert (row.name, row.group, row.phone) == ("欧阳娜娜", "装配一组", None)


def test_optional_columns_may_be_missing():
    (row,) = read_rows(csv_file(["姓名", "工号", "所属组织"], ["张三", "E1", "甲一组"]), "a.csv")
    assert (row.phone, row.birthday, row.joined_on) == (None, None, None)


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"name,no\n", "roster.txt", "只能导入 Excel（.xlsx）或 CSV 文件"),
        (b"\xd0\xcf\x11\xe0", "roster.xls", "不支持旧版 .xls 文件"),
        (b"this is no workbook", "roster.xlsx", "不是有效的 Excel"),
        (xlsx_file(HEADER), "renamed.csv", "不是有效的 CSV"),
        (b"", "empty.csv", "文件是空的"),
        (xlsx_file([None]), "empty.xlsx", "文件是空的"),
        (csv_file(HEADER), "header-only.csv", "只有表头"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(data, filename, message):
    assert message in refusal(data, filename)


def test_invalid_encoding_is_refused():
    assert "无法识别文件编码" in refusal(b"\x81\x20\x81\x20,\x80\n", "bad.csv")


def test_missing_required_columns_are_named():
    message = refusal(csv_file(["姓名", "手机号"], ["张三", "13800000001"]), "a.csv")
    assert "缺少必填列：工号、所属组织" in message


def test_more_than_the_row_limit_is_refused_and_the_limit_itself_is_accepted():
    rows = [["张三", f"E{n}", "", "甲一组", "", ""] for n in range(MAX_ROWS)]
    assert len(read_rows(csv_file(HEADER, *rows), "big.csv")) == MAX_ROWS
    message = refusal(csv_file(HEADER, *rows, ["李四", "E-extra", "", "甲一组", "", ""]), "big.csv")
    assert f"超过 {MAX_ROWS} 行" in message


@pytest.mark.parametrize(
    "text",
    ["2024-03-01", "2024/3/1", "2024.3.1", "20240301", "2024年3月1日", "２０２４年３月１日", "2024/3/1 0:00"],
)
def test_dates_in_the_usual_spellings(text):
    assert parse_date(text) == date(2024, 3, 1)


def test_excel_date_cells_and_blanks():
    assert parse_date(datetime(2024, 3, 1, 0, 0)) == date(2024, 3, 1)
    assert parse_date(date(2024, 3, 1)) == date(2024, 3, 1)
    assert parse_date(None) is None


@pytest.mark.parametrize("text", ["2024-02-30", "3/1/2024", "去年", "2024-13-01", "1899-12-31", "2999-01-01"])
def test_impossible_or_unreadable_dates_are_refused(text):
    with pytest.raises(ValueError):
        parse_date(text)


@pytest.mark.parametrize(
    "text",
    [
        "13800001234",
        "138 0000 1234",
        "138-0000-1234",
        "+86 138 0000 1234",
        "8613800001234",
        "0086 13800001234",
    ],
)
def test_phone_numbers_lose_spaces_dashes_and_country_code(text):
    assert parse_phone(text) == "13800001234"


@pytest.mark.parametrize("text", ["1380000123", "23800001234", "138000012345", "010-12345678", "电话"])
def test_phone_numbers_that_are_not_mobile_numbers_are_refused(text):
    with pytest.raises(ValueError):
        parse_phone(text)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_templates_hold_no_row_that_imports(fmt):
    """Issue 12: an example row left in the template was imported as a member (张三, 工号 10001)."""
    with pytest.raises(ValidationFailed, match="只有表头，没有会员数据"):
        read_rows(template_bytes(fmt), f"模板.{fmt}")


def test_the_xlsx_templates_example_is_on_its_notes_sheet_which_is_never_read():
    book = openpyxl.load_workbook(io.BytesIO(template_bytes("xlsx")))
    assert book.sheetnames == ["会员名册", "说明"]
    notes = [list(row) for row in book["说明"].iter_rows(values_only=True)]
    assert TEMPLATE_HEADER in notes and TEMPLATE_EXAMPLE in notes
    assert any("必填：姓名、工号、所属组织" in (row[0] or "") for row in notes)
    assert list(REQUIRED.values()) == REQUIRED_COLUMNS  # the notes name what the reader requires


def test_csv_template_has_a_bom_for_excel():
    assert template_bytes("csv").startswith("\ufeff姓名".encode())


def test_unknown_template_format():
    with pytest.raises(ValueError):
        template_bytes("pdf")
