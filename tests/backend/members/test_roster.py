"""Importing the roster: row-by-row errors, updates by employee number, scope, dry run, the CLI."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask

from backend.audit.models import AuditLog
from backend.db import today as local_today
from backend.db import unit_of_work
from backend.errors import PermissionDenied
from backend.extensions import db
from backend.members.models import Group, GroupChange, Member
from backend.members.operations import create_group
from backend.members.roster import ImportReport, import_rows, read_rows
from backend.staff.models import Role, Staff
from tests.conftest import ON_POSTGRES
from tests.factories import Union, count, make_member, make_staff

HEADER = ["姓名", "工号", "手机号", "所属组织", "生日", "入会日期"]


def csv_file(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode("utf-8-sig")


def run_import(
    app: Flask,
    rows: list[list[Any]],
    *,
    staff_id: int | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Reads `rows` (under the standard header) as a CSV file and imports them in one unit of work."""
    with app.app_context(), unit_of_work():
        staff = db.session.get(Staff, staff_id) if staff_id else None
        rows_read = read_rows(csv_file(rows), "名册.csv")
        return import_rows(rows_read, staff=staff, dry_run=dry_run, progress=progress)


def reasons(report: ImportReport) -> dict[int, list[str]]:
    return {error.row_number: error.reasons for error in report.errors}


def member(app: Flask, employee_no: str) -> Member | None:
    with app.app_context():
        found = db.session.scalar(sa.select(Member).where(Member.employee_no == employee_no))
        if found is not None:
            found.phone  # noqa: B018  (decrypt while the app context is there)
            db.session.expunge(found)
        return found


def actions(app: Flask) -> list[str]:
    """Audit actions in order, leaving out the groups and staff the test set up."""
    with app.app_context():
        query = sa.select(AuditLog.action).order_by(AuditLog.id)
        return [a for a in db.session.scalars(query) if not a.startswith(("group.", "staff."))]


def counts(report: ImportReport) -> tuple[int, int, int, int]:
    return report.created, report.updated, report.unchanged, len(report.errors)


# --- applying rows -----------------------------------------------------------------------------


def test_new_rows_become_members(app, union):
    report = run_import(
        app,
        [
            ["张三", "e001", "138 0000 0001", "甲一组", "1990/1/2", "2020年3月1日"],
            ["李四", "E002", "", "乙分会/乙一组", "", ""],
        ],
    )
    assert counts(report) == (2, 0, 0, 0) and report.ok and report.total == 2
    zhang, li = member(app, "E001"), member(app, "E002")
    assert (zhang.name, zhang.phone, zhang.group_id) == ("张三", "13800000001", union.group_a)
    assert (zhang.birthday, zhang.joined_on) == (date(1990, 1, 2), date(2020, 3, 1))
    assert (li.group_id, li.phone, li.joined_on) == (union.group_b, None, local_today())
    assert actions(app) == ["member.create", "member.create", "roster.import"]


def test_reimport_updates_by_employee_no_and_keeps_group_history(app, union):
    member_id = make_member(app, union.group_a, name="王五", employee_no="E001", phone="13800000001")
    report = run_import(app, [["王 五", "E001", "13900000009", "乙一组", "1985-06-07", ""]])
    assert counts(report) == (0, 1, 0, 0)
    moved = member(app, "E001")
    assert (moved.id, moved.group_id, moved.phone, moved.birthday) == (
        member_id,
        union.group_b,
        "13900000009",
        date(1985, 6, 7),
    )
    with app.app_context():
        (change,) = db.session.scalars(sa.select(GroupChange).where(GroupChange.member_id == member_id))
        assert (change.from_group_id, change.to_group_id, change.reason) == (
            union.group_a,
            union.group_b,
            "名册导入",
        )
    assert actions(app)[-3:] == ["member.update", "member.change_group", "roster.import"]


def test_reimporting_the_same_file_changes_nothing(app, union):
    make_member(app, union.group_a, name="王五", employee_no="E009", phone="13800000009")
    rows = [
        ["张三", "E001", "13800000001", "甲一组", "1990-01-02", "2020-03-01"],
        ["李四", "E002", "", "乙一组", "", ""],
        ["王五", "E009", "13800000009", "甲分会/甲一组", "", ""],
    ]
    assert counts(run_import(app, rows)) == (2, 0, 1, 0)
    audit_rows = count(app, AuditLog)
    with app.app_context():
        stamps = dict(db.session.execute(sa.select(Member.employee_no, Member.updated_at)).all())

    again = run_import(app, rows)

    assert counts(again) == (0, 0, 3, 0)
    assert count(app, AuditLog) == audit_rows + 1 and actions(app)[-1] == "roster.import"
    with app.app_context():
        assert dict(db.session.execute(sa.select(Member.employee_no, Member.updated_at)).all()) == stamps
    assert count(app, GroupChange) == 0


def test_a_blank_optional_cell_keeps_what_the_roster_holds(app, union):
    make_member(
        app, union.group_a, name="王五", employee_no="E001", phone="13800000001", birthday=date(1980, 1, 1)
    )
    report = run_import(app, [["王五", "E001", "", "甲一组", "", ""]])
    assert counts(report) == (0, 0, 1, 0)
    kept = member(app, "E001")
    assert (kept.phone, kept.birthday) == ("13800000001", date(1980, 1, 1))


def test_summary_audit_row_names_who_imported(app, union):
    staff_id = make_staff(app, Role.officer, union.root)
    run_import(
        app, [["张三", "E001", "", "甲一组", "", ""], ["", "E002", "", "甲一组", "", ""]], staff_id=staff_id
    )
    with app.app_context():
        rows = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action.in_(["member.create", "roster.import"]))
        ).all()
        assert {(r.action, r.actor_staff_id) for r in rows} == {
            ("member.create", staff_id),
            ("roster.import", staff_id),
        }
        summary = next(r for r in rows if r.action == "roster.import")
        assert summary.detail == {"total": 2, "created": 1, "updated": 0, "unchanged": 0, "errors": 1}


def test_the_import_never_commits_so_the_caller_can_take_it_all_back(app, union):
    rows = read_rows(
        csv_file([["张三", "E001", "", "甲一组", "", ""], ["李四", "E002", "", "乙一组", "", ""]]), "a.csv"
    )
    with app.app_context():
        assert import_rows(rows, staff=None).created == 2
        db.session.rollback()  # what unit_of_work does when anything after the import fails
    assert count(app, Member) == 0 and actions(app) == []


# --- bad rows ----------------------------------------------------------------------------------

GOOD = ["好人", "E100", "13800000100", "甲一组", "1990-01-01", "2020-01-01"]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (["", "E001", "", "甲一组", "", ""], "缺少姓名"),
        (["张三", "", "", "甲一组", "", ""], "缺少工号"),
        (["张三", "E001", "", "", "", ""], "缺少所属组织"),
        (["张三", "E001", "", "丙一组", "", ""], "找不到组织「丙一组」"),
        (["张三", "E001", "", "乙分会/甲一组", "", ""], "找不到组织「乙分会/甲一组」"),
        (["张三", "E001", "", "甲一组", "1990-02-30", ""], "生日格式不正确（1990-02-30）"),
        (["张三", "E001", "", "甲一组", "", "2999-01-01"], "入会日期格式不正确（2999-01-01）"),
        (["张三", "E001", "1380000", "甲一组", "", ""], "手机号格式不正确"),
        (["张" * 51, "E001", "", "甲一组", "", ""], "姓名不能超过 50 个字"),
        (["张三", "E" * 33, "", "甲一组", "", ""], "工号不能超过 32 个字符"),
    ],
)
def test_a_bad_row_is_reported_with_its_reason_and_the_good_row_is_kept(app, union, bad, reason):
    report = run_import(app, [bad, GOOD])
    assert counts(report) == (1, 0, 0, 1)
    (error,) = report.errors
    assert (error.row_number, error.reasons) == (2, [reason])
    assert count(app, Member) == 1 and member(app, "E100") is not None


def test_every_reason_of_a_row_is_given(app, union):
    report = run_import(app, [["", "E001", "12", "无此组", "昨天", ""]])
    assert reasons(report) == {
        2: ["缺少姓名", "手机号格式不正确", "生日格式不正确（昨天）", "找不到组织「无此组」"]
    }


def test_an_employee_no_repeated_in_the_file_refuses_every_occurrence(app, union):
    report = run_import(
        app,
        [
            ["张三", "E001", "", "甲一组", "", ""],
            ["李四", "E002", "", "甲一组", "", ""],
            ["张叁", "e001", "", "甲一组", "", ""],
        ],
    )
    assert reasons(report) == {2: ["文件中工号重复（第 4 行）"], 4: ["文件中工号重复（第 2 行）"]}
    assert member(app, "E001") is None and member(app, "E002") is not None


def test_bad_rows_leave_existing_members_untouched(app, union):
    make_member(app, union.group_a, name="王五", employee_no="E001", phone="13800000001")
    report = run_import(app, [["王六", "E001", "", "乙一组", "不知道", ""]])
    assert counts(report) == (0, 0, 0, 1)
    kept = member(app, "E001")
    assert (kept.name, kept.group_id) == ("王五", union.group_a)


# --- naming groups -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "甲一组",
        "甲分会/甲一组",
        "测试公司工会 / 甲分会 / 甲一组",
        "甲分会／甲一组",
        "甲分会 > 甲一组",
        "甲分会-甲一组",
    ],
)
def test_a_group_is_named_by_its_name_or_a_path(app, union, cell):
    report = run_import(app, [["张三", "E001", "", cell, "", ""]])
    assert report.ok, report.errors
    assert member(app, "E001").group_id == union.group_a


def test_a_group_name_with_a_dash_is_a_name_not_a_path(app, union):
    with app.app_context(), unit_of_work():
        shift = create_group("一车间-甲班", parent=db.session.get(Group, union.branch_a), staff=None).id
    report = run_import(app, [["张三", "E001", "", "一车间-甲班", "", ""]])
    assert report.ok and member(app, "E001").group_id == shift


@pytest.fixture
def twin_groups(app: Flask, union: Union) -> dict[str, int]:
    """Two groups called 一组, one under each branch."""
    with app.app_context(), unit_of_work():
        a = create_group("一组", parent=db.session.get(Group, union.branch_a), staff=None)
        b = create_group("一组", parent=db.session.get(Group, union.branch_b), staff=None)
        return {"a": a.id, "b": b.id}


def test_an_ambiguous_name_asks_for_the_path(app, twin_groups):
    report = run_import(
        app, [["张三", "E001", "", "一组", "", ""], ["李四", "E002", "", "乙分会/一组", "", ""]]
    )
    assert reasons(report) == {
        2: ["有多个名为「一组」的组织，请写明上级组织，如 「甲分会/一组」、「乙分会/一组」"]
    }
    assert member(app, "E002").group_id == twin_groups["b"]


def test_a_name_unique_within_the_staff_scope_is_enough(app, union, twin_groups):
    officer = make_staff(app, Role.officer, union.branch_a)
    report = run_import(app, [["张三", "E001", "", "一组", "", ""]], staff_id=officer)
    assert report.ok and member(app, "E001").group_id == twin_groups["a"]


# --- scope and permission ----------------------------------------------------------------------


def test_an_officer_cannot_import_into_another_branch(app, union):
    officer = make_staff(app, Role.officer, union.branch_a)
    make_member(app, union.group_b, name="乙某", employee_no="E009")
    report = run_import(
        app,
        [
            ["张三", "E001", "", "乙一组", "", ""],
            ["李四", "E002", "", "甲一组", "", ""],
            ["乙某", "E009", "", "甲一组", "", ""],  # pulling someone out of branch B into A
        ],
        staff_id=officer,
    )
    assert reasons(report) == {2: ["组织「乙一组」不在您的管理范围内"], 4: ["该工号的会员不在您的管理范围内"]}
    assert counts(report)[:2] == (1, 0)
    assert member(app, "E001") is None and member(app, "E009").group_id == union.group_b


def test_a_group_leader_may_not_import(app, union):
    leader = make_staff(app, Role.group_leader, union.group_a)
    with pytest.raises(PermissionDenied):
        run_import(app, [["张三", "E001", "", "甲一组", "", ""]], staff_id=leader)
    assert count(app, Member) == 0


# --- dry run -----------------------------------------------------------------------------------


def test_a_dry_run_reports_the_same_and_writes_nothing(app, union):
    make_member(app, union.group_a, name="王五", employee_no="E009")
    audit_rows = count(app, AuditLog)
    rows = [
        ["张三", "E001", "", "甲一组", "", ""],
        ["王五", "E009", "", "乙一组", "", ""],
        ["", "E003", "", "甲一组", "", ""],
        ["李四", "E003", "", "甲一组", "", ""],
    ]
    seen: list[tuple[int, int]] = []
    report = run_import(app, rows, dry_run=True, progress=lambda done, total: seen.append((done, total)))
    assert report.dry_run and counts(report) == (1, 1, 0, 2)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert count(app, Member) == 1 and count(app, GroupChange) == 0 and count(app, AuditLog) == audit_rows
    assert member(app, "E009").group_id == union.group_a

    real = run_import(app, rows)
    assert counts(real) == counts(report) and real.errors == report.errors


# --- a row refused half-way leaves nothing of itself -------------------------------------------


def meanwhile(app: Flask, sql: str, **params: Any) -> None:
    """Another writer's change, committed while the import runs.

    On PostgreSQL it is a second connection, as another web request would be. SQLite has one writer
    at a time (the import holds the write lock), so there the change joins the import's transaction
    ahead of the row: the database refuses the row just the same.
    """
    if ON_POSTGRES:
        with db.engine.begin() as other:
            other.execute(sa.text(sql), params)
    else:
        db.session.execute(sa.text(sql), params)


def at_row(row_number: int, action: Callable[[], None]) -> Callable[[int, int], None]:
    """A progress callback that runs `action` once the rows before `row_number` are applied."""

    def progress(done: int, total: int) -> None:
        if done == row_number - 2:  # `done` counts data rows; data starts at spreadsheet row 2
            action()

    return progress


def test_a_row_whose_employee_no_is_taken_meanwhile_leaves_nothing_and_others_are_kept(app, union):
    insert = (
        "INSERT INTO members (name, employee_no, group_id, status, created_at, updated_at) "
        "VALUES ('别人', 'E002', :group_id, 'active', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    report = run_import(
        app,
        [
            ["张三", "E001", "", "甲一组", "", ""],
            ["李四", "E002", "13800000002", "乙一组", "", ""],
            ["赵六", "E003", "", "甲一组", "", ""],
        ],
        progress=at_row(3, lambda: meanwhile(app, insert, group_id=union.group_a)),
    )
    assert counts(report) == (2, 0, 0, 1)
    assert reasons(report)[3][0].startswith("保存时与他人同时进行的修改冲突")
    taken = member(app, "E002")
    assert (taken.name, taken.group_id, taken.phone) == ("别人", union.group_a, None)
    assert member(app, "E001") is not None and member(app, "E003") is not None
    with app.app_context():
        created = db.session.scalars(sa.select(AuditLog.object_id).where(AuditLog.action == "member.create"))
        assert taken.id not in set(created)
        assert (
            db.session.scalar(sa.select(AuditLog.detail).where(AuditLog.action == "roster.import"))["errors"]
            == 1
        )


def test_a_row_refused_half_way_through_is_undone_whole(app, union):
    """The update of 王五 is written, then moving him fails: neither the update nor the move remains."""
    with app.app_context(), unit_of_work():
        doomed = create_group("临时组", parent=db.session.get(Group, union.branch_a), staff=None).id
    make_member(app, union.group_a, name="王五", employee_no="E009", phone="13800000009")
    report = run_import(
        app,
        [
            ["张三", "E001", "", "甲一组", "", ""],
            ["王五五", "E009", "13900000009", "临时组", "", ""],
            ["赵六", "E003", "", "甲一组", "", ""],
        ],
        progress=at_row(3, lambda: meanwhile(app, "DELETE FROM groups WHERE id = :id", id=doomed)),
    )
    assert counts(report) == (2, 0, 0, 1) and 3 in reasons(report)
    untouched = member(app, "E009")
    assert (untouched.name, untouched.phone, untouched.group_id) == ("王五", "13800000009", union.group_a)
    assert count(app, GroupChange) == 0
    assert "member.update" not in actions(app)
    assert member(app, "E001") is not None and member(app, "E003") is not None


# --- cost --------------------------------------------------------------------------------------


def test_a_500_row_import_looks_things_up_in_bulk(app, union, statements):
    for n in range(150):
        make_member(app, union.group_a, name=f"老{n}", employee_no=f"OLD{n:03d}", phone=f"1370000{n:04d}")
    rows = [[f"新{n}", f"NEW{n:03d}", f"1380000{n:04d}", "甲一组", "1990-01-01", ""] for n in range(350)]
    rows += [[f"老{n}", f"OLD{n:03d}", f"1370000{n:04d}", "乙一组", "", ""] for n in range(50)]  # moved
    rows += [[f"老{n}", f"OLD{n:03d}", f"1360000{n:04d}", "甲一组", "", ""] for n in range(50, 100)]  # phone
    rows += [[f"老{n}", f"OLD{n:03d}", f"1370000{n:04d}", "甲一组", "", ""] for n in range(100, 150)]  # same
    officer = make_staff(app, Role.officer, union.root)
    statements.clear()

    report = run_import(app, rows, staff_id=officer)

    assert counts(report) == (350, 100, 50, 0)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 5, selects
    # Per written row: SAVEPOINT, the member, the audit row(s), RELEASE — nothing that grows with lookups.
    assert len(statements) <= 5 * 450 + 20


# --- the shell ---------------------------------------------------------------------------------


def xlsx_path(tmp_path: Any, rows: list[list[Any]]) -> Any:
    book = openpyxl.Workbook()
    for row in [HEADER, *rows]:
        book.active.append(row)
    path = tmp_path / "名册.xlsx"
    book.save(path)
    return path


def test_cli_imports_a_workbook(app, union, tmp_path):
    path = xlsx_path(tmp_path, [["张三", 10001, 13800000001, "甲一组", date(1990, 1, 2), None]])
    result = app.test_cli_runner().invoke(args=["import-roster", str(path)])
    assert result.exit_code == 0, result.output
    assert "共 1 行：已新增 1，已更新 0，无变化 0，有误 0" in result.output
    imported = member(app, "10001")
    assert (imported.phone, imported.birthday) == ("13800000001", date(1990, 1, 2))
    assert actions(app) == ["member.create", "roster.import"]


def test_cli_lists_bad_rows_keeps_good_ones_and_exits_non_zero(app, union, tmp_path):
    path = xlsx_path(
        tmp_path, [["张三", "E001", None, "甲一组", None, None], [None, "E002", "123", "甲一组", None, None]]
    )
    result = app.test_cli_runner().invoke(args=["import-roster", str(path)])
    assert result.exit_code == 1
    assert "第 3 行（工号 E002）：缺少姓名；手机号格式不正确" in result.output
    assert "1 行有误" in result.output
    assert member(app, "E001") is not None and member(app, "E002") is None


def test_cli_dry_run_writes_nothing(app, union, tmp_path):
    path = xlsx_path(tmp_path, [["张三", "E001", None, "甲一组", None, None]])
    audit_rows = count(app, AuditLog)
    result = app.test_cli_runner().invoke(args=["import-roster", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "将新增 1" in result.output and "未写入" in result.output
    assert count(app, Member) == 0 and count(app, AuditLog) == audit_rows


def test_cli_refuses_an_unreadable_file(app, union, tmp_path):
    path = tmp_path / "名册.xlsx"
    path.write_bytes(b"not a workbook")
    result = app.test_cli_runner().invoke(args=["import-roster", str(path)])
    assert result.exit_code == 1 and "不是有效的 Excel" in result.output
