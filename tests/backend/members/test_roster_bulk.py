"""The roster import writes new members in bulk, keeps the per-row report, and tells a dry run who will
be added, updated or moved (issue 12, point 9)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.members.models import GroupChange, Member
from backend.members.roster import importing
from backend.staff.models import Role
from tests.backend.members.test_roster import counts, member, reasons, run_import
from tests.factories import count, make_member, make_staff


def new_rows(n: int, group: str = "甲一组") -> list[list[Any]]:
    return [[f"新{i}", f"N{i:05d}", f"1390000{i:04d}", group, "1990-01-01", "2020-01-01"] for i in range(n)]


def test_new_members_go_in_with_a_few_inserts_not_one_per_row(app, union, statements):
    officer = make_staff(app, Role.officer, union.root)
    statements.clear()
    report = run_import(app, new_rows(1200), staff_id=officer)
    assert counts(report) == (1200, 0, 0, 0)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO MEMBERS")]
    # Two chunks of CHUNK_ROWS; insertmanyvalues may split a chunk into a few statements, never 1200.
    assert 2 <= len(inserts) <= 10, len(inserts)
    assert len(statements) < 60, len(statements)


def test_every_new_member_has_the_audit_row_create_member_writes(app, union):
    officer = make_staff(app, Role.officer, union.root)
    run_import(app, new_rows(3), staff_id=officer)
    with app.app_context():
        rows = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == "member.create").order_by(AuditLog.object_id)
        ).all()
        members = db.session.scalars(sa.select(Member).order_by(Member.id)).all()
        assert [(r.object_type, r.object_id) for r in rows] == [("members", m.id) for m in members]
        assert [r.detail for r in rows] == [
            {"employee_no": m.employee_no, "group_id": m.group_id} for m in members
        ]
        assert {(r.actor_staff_id, r.scope_path) for r in rows} == {(officer, f"/{union.root}/")}
        first = members[0]
        assert (first.phone, first.status.value, str(first.birthday)) == (
            "13900000000",
            "active",
            "1990-01-01",
        )
        assert first.phone_index and first.phone_last4_index  # both indexes, as set_phone writes them


def test_a_conflict_in_a_later_chunk_is_reported_by_row_and_the_report_stays_in_row_order(
    app, union, monkeypatch
):
    """Rows 2-4 are one chunk, 5-7 the next; 工号 N00003 (row 5) is taken by 别人 after the second chunk
    was looked up and before it is written: the chunk is written again row by row."""
    monkeypatch.setattr(importing, "CHUNK_ROWS", 3)

    def take_number(done: int, total: int) -> None:
        if done == 4:
            db.session.add(Member(name="别人", employee_no="N00003", group_id=union.group_b))
            db.session.flush()

    rows = [*new_rows(4), ["", "N09999", "", "甲一组", "", ""], new_rows(5)[4]]
    report = run_import(app, rows, progress=take_number)
    assert counts(report) == (4, 0, 0, 2)
    assert [e.row_number for e in report.errors] == [5, 6]  # the conflict is found last, listed first
    assert reasons(report)[5] == [importing.CONFLICT]
    assert member(app, "N00003").name == "别人"
    assert all(member(app, f"N0000{i}") is not None for i in (0, 1, 2, 4))


def test_a_dry_run_lists_who_is_added_updated_and_moved(app, union):
    make_member(app, union.group_a, name="王五", employee_no="E009", phone="13800000009")
    make_member(app, union.group_a, name="赵六", employee_no="E010")
    make_member(app, union.group_a, name="钱七", employee_no="E011")
    rows = [
        ["张三", "E001", "", "甲一组", "", ""],  # new
        ["王五五", "E009", "13900000009", "甲一组", "", ""],  # name and phone change
        ["赵六", "E010", "", "乙分会/乙一组", "", ""],  # moves
        ["钱七", "E011", "", "甲一组", "", ""],  # the same
    ]
    report = run_import(app, rows, dry_run=True)
    assert counts(report) == (1, 2, 1, 0) and report.moved == 1
    added, updated, moved = report.changes[2], report.changes[0], report.changes[1]
    assert (added.kind, added.employee_no, added.group) == ("add", "E001", "甲分会/甲一组")
    assert (updated.kind, updated.name, updated.fields) == ("update", "王五五", ["姓名", "手机号"])
    assert (moved.kind, moved.from_group, moved.group, moved.fields) == (
        "move",
        "甲分会/甲一组",
        "乙分会/乙一组",
        [],
    )
    assert count(app, GroupChange) == 0 and member(app, "E001") is None


def test_a_real_import_keeps_no_list_of_changes(app, union):
    report = run_import(app, new_rows(2))
    assert report.created == 2 and report.changes == []
