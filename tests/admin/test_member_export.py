"""会员名册 → 导出 Excel (issue 12, point 9): the list's filters, the import template's columns, full phones
only for roles that edit members, audited, no formulas; and export → edit → import round-trips."""

from __future__ import annotations

import io
import re
from datetime import date

import openpyxl
import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Group, Member
from backend.members.operations import create_group
from backend.members.roster import TEMPLATE_HEADER, reading
from backend.staff.models import Role
from tests.admin.conftest import csrf_token, html
from tests.factories import count, make_member


def export(client, query: str = "") -> list[list[object]]:
    response = client.get(f"/admin/members/export.xlsx{query}")
    assert response.status_code == 200, html(response)[:300]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["会员名册", "说明"]
    return [list(row) for row in book["会员名册"].iter_rows(values_only=True)]


def export_actions(app) -> list[dict]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditLog.detail).where(AuditLog.action == "member.export")))


def test_the_export_has_the_template_columns_and_the_lists_filters(app, client, union, login_as):
    make_member(
        app, union.group_a, name="张三", employee_no="E001", phone="13800001111", birthday=date(1990, 1, 31)
    )
    make_member(app, union.group_b, name="李四", employee_no="E002", phone="13800002222")
    login_as(Role.officer, union.root)
    rows = export(client)
    assert rows[0] == TEMPLATE_HEADER
    assert [r[:4] for r in rows[1:]] == [
        ["张三", "E001", "13800001111", "甲一组"],
        ["李四", "E002", "13800002222", "乙一组"],
    ]
    assert rows[1][4].date() == date(1990, 1, 31)
    assert [r[1] for r in export(client, f"?group={union.group_b}")[1:]] == ["E002"]
    assert [r[1] for r in export(client, "?q=张")[1:]] == ["E001"]


def test_full_phones_only_for_a_role_that_edits_members(app, client, union, login_as):
    make_member(app, union.group_a, employee_no="E001", phone="13800001111")
    login_as(Role.group_leader, union.group_a)
    assert export(client)[1][2] == "138****1111"
    assert export_actions(app)[-1]["full_phones"] == 0


def test_an_export_is_audited_without_a_searched_phone(app, client, union, login_as):
    make_member(app, union.group_a, employee_no="E001", phone="13800001111")
    staff_id = login_as(Role.officer, union.root)
    export(client, "?q=13800001111&status=active")
    with app.app_context():
        row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "member.export"))
        assert row.actor_staff_id == staff_id
        assert row.detail == {
            "rows": 1,
            "full_phones": 1,
            "filters": {"q": "138****1111", "group_id": None, "status": "active"},
        }


def test_text_cells_never_become_formulas(app, client, union, login_as):
    make_member(app, union.group_a, name="=HYPERLINK(1)", employee_no="E001")
    login_as(Role.officer, union.root)
    response = client.get("/admin/members/export.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    cell = book["会员名册"]["A2"]
    assert cell.value == "=HYPERLINK(1)" and cell.data_type == "s"


def test_an_export_bigger_than_one_import_is_refused_with_the_limit(
    app, client, union, login_as, monkeypatch
):
    monkeypatch.setattr(reading, "MAX_ROWS", 1)
    make_member(app, union.group_a)
    make_member(app, union.group_a)
    login_as(Role.officer, union.root)
    response = client.get("/admin/members/export.xlsx?status=active")
    assert response.status_code == 302 and "status=active" in response.headers["Location"]
    assert "超过一个名册文件最多能导入的 1 人" in html(client.get(response.headers["Location"]))
    assert export_actions(app) == []


def test_the_list_offers_the_export_with_its_filters(app, client, union, login_as):
    make_member(app, union.group_a, name="张三")
    login_as(Role.officer, union.root)
    page = html(client.get(f"/admin/members/?q=张&group={union.group_a}"))
    link = re.search(r'href="(/admin/members/export\.xlsx[^"]*)"', page).group(1).replace("&amp;", "&")
    assert "q=%E5%BC%A0" in link and f"group={union.group_a}" in link


def reimport(client, rows: list[list[object]]):
    """Saves the rows as an .xlsx (as Excel would after an edit), checks it, and confirms it."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    check = client.post(
        "/admin/roster/check",
        data={"csrf_token": csrf_token(client), "file": (io.BytesIO(out.getvalue()), "导出.xlsx")},
        content_type="multipart/form-data",
    )
    return html(check)


def test_export_edit_import_round_trips(app, client, union, login_as):
    """Two groups named 装配组 (so the export writes paths), leading zeros, masked and full phones."""
    with app.app_context(), unit_of_work():
        twin_a = create_group("装配组", parent=db.session.get(Group, union.branch_a), staff=None).id
        twin_b = create_group("装配组", parent=db.session.get(Group, union.branch_b), staff=None).id
    make_member(app, twin_a, name="张三", employee_no="0012", phone="13800001111", birthday=date(1990, 1, 31))
    make_member(app, twin_b, name="李四", employee_no="0013", phone=None)
    make_member(app, union.group_a, name="王五", employee_no="0014", phone="13800003333")
    login_as(Role.officer, union.root)
    rows = export(client)
    assert rows[1][3] == "测试公司工会/甲分会/装配组" and rows[3][3] == "甲一组"

    unchanged = reimport(client, rows)
    assert "没有可以导入的内容" in unchanged
    assert re.search(r'<span class="number">3</span><span class="label">无变化', unchanged)

    rows[2][0], rows[3][3] = "李四四", "乙一组"  # an edit in Excel: a new name, a move
    page = reimport(client, rows)
    assert re.search(r'<span class="number">2</span><span class="label">将更新', page)
    upload_id = re.search(r'name="upload_id"[^>]*value="([^"]+)"', page).group(1)
    client.post("/admin/roster/import", data={"csrf_token": csrf_token(client), "upload_id": upload_id})
    with app.app_context():
        members = {m.employee_no: m for m in db.session.scalars(sa.select(Member))}
        assert (members["0013"].name, members["0014"].group_id) == ("李四四", union.group_b)
        assert (members["0012"].phone, members["0012"].birthday) == ("13800001111", date(1990, 1, 31))
    assert count(app, Member) == 3


def test_a_group_leaders_masked_export_imports_back_without_touching_phones(app, client, union, login_as):
    make_member(app, union.group_a, name="张三", employee_no="E001", phone="13800001111")
    login_as(Role.group_leader, union.group_a)
    rows = export(client)
    assert rows[1][2] == "138****1111"
    officer = app.test_client()
    login_as(Role.officer, union.root, on=officer)
    page = reimport(officer, rows)
    assert re.search(r'<span class="number">1</span><span class="label">无变化', page)
