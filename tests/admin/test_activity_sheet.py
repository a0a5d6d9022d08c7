"""代报名 by 工号 (one lookup, in the staff member's scope) and the 实名制签到表: the xlsx file and the
printable page show the same rows, and each export is audited once."""

from __future__ import annotations

import re
import time
from io import BytesIO

import openpyxl
import pytest
import sqlalchemy as sa

from backend.activities.models import Activity, Registration
from backend.activities.queries import member_to_add
from backend.activities.sheet import build_sheet
from backend.audit.models import AuditLog
from backend.errors import NotFound
from backend.extensions import db
from backend.members.models import Member
from backend.staff.models import Role, Staff
from tests.admin.conftest import html, post
from tests.factories import get, make_activity, make_member, make_staff


def test_the_member_to_add_is_found_by_employee_no_within_scope(app, union):
    officer = make_staff(app, Role.officer, union.branch_a)
    ours = make_member(app, union.group_a, employee_no="A00077")
    make_member(app, union.group_b, employee_no="B00077")
    with app.app_context():
        staff = db.session.get(Staff, officer)
        assert member_to_add(" ａ00077 ", staff).id == ours  # full-width, lower case, spaces
        for employee_no in ("B00077", "NOSUCH"):
            with pytest.raises(NotFound):
                member_to_add(employee_no, staff)


def test_adding_another_branchs_member_is_refused_on_the_page(app, client, union, login_as):
    staff_id = login_as(Role.officer, union.branch_a)
    activity_id = make_activity(app, staff_id, whole_union=False, group_ids=[union.branch_a])
    theirs = get(app, Member, make_member(app, union.group_b)).employee_no
    body = {"employee_no": theirs, "reason": "电话报名", "companions": "0"}
    answer = post(client, f"/admin/activities/{activity_id}/registrations/add", body, follow_redirects=True)
    assert answer.status_code == 200 and "没有这个工号的在册会员" in html(answer)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 0


def _exports(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).where(AuditLog.action == "activity.export_sheet"))


def test_the_xlsx_and_the_printable_sheet_show_the_same_rows(app, client, union, login_as):
    staff_id = login_as(Role.officer, union.root)
    activity_id = make_activity(app, staff_id, form_fields=[{"label": "尺码", "type": "text"}])
    for name in ("王芳", "李雷"):
        employee_no = get(app, Member, make_member(app, union.group_a, name=name)).employee_no
        post(client, f"/admin/activities/{activity_id}/registrations/add",
             {"employee_no": employee_no, "reason": "电话报名", "companions": "0"})  # fmt: skip
    book = openpyxl.load_workbook(BytesIO(client.get(f"/admin/activities/{activity_id}/sheet.xlsx").data))
    cells = [["" if c is None else c for c in row] for row in book.active.iter_rows(values_only=True)]
    assert _exports(app) == 1
    time.sleep(1.1)  # the audit skips a repeat within a second (backend/audit/operations.py)
    page = html(client.get(f"/admin/activities/{activity_id}/sheet"))
    assert _exports(app) == 2
    printed = [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", page)
    ]
    printed = [row for row in printed if row]
    with app.app_context():
        sheet = build_sheet(db.session.get(Activity, activity_id))
    assert printed == sheet.text_rows() and len(printed) == 2
    assert [row[1] for row in printed] == ["王芳", "李雷"]
    xlsx_rows = cells[2:-1]
    assert [[str(c)[:16] for c in row[: len(sheet.header)]] for row in xlsx_rows] == [
        [str(c)[:16] for c in row] for row in sheet.rows
    ]
    assert cells[-1][0] == sheet.totals
