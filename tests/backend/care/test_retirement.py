"""退休日期 on the roster (optional; imported, edited, exported) and the due list built from it; the due
list's 29 February birthdays in other years (the greeting's rule)."""

from __future__ import annotations

from datetime import date

from backend.care.due import due_list
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.roster import import_rows, read_rows
from backend.staff.models import Role, Staff
from tests.backend.members.test_roster import HEADER, csv_file, member, reasons, run_import
from tests.factories import make_member, make_staff

WITH_RETIREMENT = [*HEADER, "退休日期"]


def _import(app, rows, header=WITH_RETIREMENT):
    with app.app_context(), unit_of_work():
        return import_rows(read_rows(csv_file(rows, header), "名册.csv"), staff=None)


def test_the_roster_imports_a_retirement_date_future_dates_included(app, union):
    report = _import(
        app,
        [
            ["张三", "E001", "", "甲一组", "1966/1/2", "", "2031-06-30"],
            ["李四", "E002", "", "甲一组", "", "", ""],
        ],
    )
    assert report.ok, report.errors
    assert member(app, "E001").retires_on == date(2031, 6, 30)
    assert member(app, "E002").retires_on is None


def test_without_the_column_or_with_a_blank_cell_the_date_on_file_is_kept(app, union):
    _import(app, [["张三", "E001", "", "甲一组", "", "", "2031年6月30日"]])
    run_import(app, [["张三", "E001", "", "甲一组", "", ""]])  # the six-column template of before
    assert member(app, "E001").retires_on == date(2031, 6, 30)
    _import(app, [["张三", "E001", "", "甲一组", "", "", ""]])
    assert member(app, "E001").retires_on == date(2031, 6, 30)
    report = _import(app, [["张三", "E001", "", "甲一组", "", "", "2032-01-31"]])
    assert report.updated == 1 and member(app, "E001").retires_on == date(2032, 1, 31)


def test_a_bad_retirement_date_is_a_row_error_in_chinese(app, union):
    report = _import(
        app,
        [
            ["张三", "E001", "", "甲一组", "", "", "明年六月"],
            ["李四", "E002", "", "甲一组", "", "", "2031-02-30"],
        ],
    )
    assert reasons(report) == {
        2: ["退休日期格式不正确（明年六月）"],
        3: ["退休日期格式不正确（2031-02-30）"],
    }
    assert member(app, "E001") is None and member(app, "E002") is None


def test_the_due_list_shows_members_retiring_in_the_coming_days_in_scope(app, union):
    app.config["CARE_DUE_DAYS"] = 7
    staff_a = make_staff(app, Role.officer, union.branch_a)
    staff_b = make_staff(app, Role.officer, union.branch_b)
    today = date(2026, 6, 1)
    soon = make_member(app, union.group_a, retires_on=date(2026, 6, 8))
    make_member(app, union.group_a, retires_on=date(2026, 6, 9))  # beyond the 7 days
    make_member(app, union.group_a, retires_on=date(2026, 5, 31))  # already retired
    make_member(app, union.group_b, retires_on=date(2026, 6, 2))  # another branch
    with app.app_context():
        due = due_list(db.session.get(Staff, staff_a), today=today)
        assert [m.id for m in due.retiring] == [soon] and not due.empty
        assert [m.retires_on for m in due_list(db.session.get(Staff, staff_b), today=today).retiring] == [
            date(2026, 6, 2)
        ]


def test_a_29_february_birthday_is_due_on_the_28th_in_other_years(app, union):
    app.config["CARE_DUE_DAYS"] = 0
    staff = make_staff(app, Role.officer, union.root)
    leap = make_member(app, union.group_a, birthday=date(1992, 2, 29))
    with app.app_context():
        who = db.session.get(Staff, staff)
        assert [m.id for m in due_list(who, today=date(2027, 2, 28)).birthdays] == [leap]
        assert [m.id for m in due_list(who, today=date(2028, 2, 29)).birthdays] == [leap]
        assert due_list(who, today=date(2028, 2, 28)).birthdays == []
