"""A readable audit log (issue 12): names instead of numbers, masked out of scope, looked up per page."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import openpyxl
import sqlalchemy as sa

from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Group, Member
from backend.members.operations import change_group, create_group, delete_group
from backend.staff.models import Role, Staff
from tests.admin.conftest import file_join_request, html
from tests.admin.test_audit_view import add_rows, table
from tests.factories import get, make_announcement, make_member, make_staff


def rows_for(client, **query):
    return " | ".join(table(client.get("/admin/audit/", query_string=query)))


def test_rows_name_the_member_group_staff_announcement_and_request(app, client, emu, union, login_as):
    login_as(Role.admin, union.root)
    officer = make_staff(app, Role.officer, union.branch_a, username="li4")
    make_member(app, union.group_a, name="王五")
    make_announcement(app, officer, group_ids=[union.group_a], title="甲组春游通知")
    file_join_request(app, client, emu, union.group_a)

    created = rows_for(client, action="member.create")
    assert "会员 王五" in created and "编号" not in created
    assert "组织：测试公司工会 / 甲分会 / 甲一组" in created  # the detail's group_id, as a name
    staff_row = rows_for(client, action="staff.create")
    assert "后台账号 li4（li4）" in staff_row and "负责范围：测试公司工会 / 甲分会" in staff_row
    assert "公告「甲组春游通知」" in rows_for(client, action="announcement.publish")
    group_row = rows_for(client, action="group.create")
    assert "组织 测试公司工会 / 甲分会 / 甲一组" in group_row


def test_a_join_request_and_a_transfer_read_as_names(app, client, emu, union, login_as):
    login_as(Role.admin, union.root)
    request_id = file_join_request(app, client, emu, union.group_a)
    member_id = make_member(app, union.group_a, name="赵六")
    with app.app_context(), unit_of_work():
        member = db.session.get(Member, member_id)
        change_group(member, db.session.get(Group, union.group_b), staff=None, reason="调岗")
    add_rows(
        app,
        {
            "action": "join_request.rejected",
            "object_type": "join_requests",
            "object_id": request_id,
            "at": datetime.now(UTC),
        },
    )
    assert "入会申请 申请人" in rows_for(client, action="join_request.rejected")
    moved = rows_for(client, action="member.change_group")
    assert "会员 赵六" in moved
    assert (
        "原组织：测试公司工会 / 甲分会 / 甲一组" in moved
        and "新组织：测试公司工会 / 乙分会 / 乙一组" in moved
    )


def test_records_out_of_the_viewers_scope_are_masked_and_not_linked(app, client, union, login_as):
    officer_a = make_staff(app, Role.officer, union.branch_a)
    path_a = get(app, Group, union.branch_a).path
    member_id = make_member(app, union.group_a, name="欧阳秘密")
    other_id = make_member(app, union.group_b, name="乙组的人")
    now = datetime.now(UTC)
    add_rows(
        app,
        *(
            {
                "action": "member.update",
                "actor_staff_id": officer_a,
                "object_type": "members",
                "object_id": target,
                "detail": {"fields": ["name"]},
                "at": now - timedelta(seconds=n),
                "scope_path": path_a,
            }
            for n, target in enumerate((member_id, other_id))
        ),
        {
            "action": "member.change_group",
            "actor_staff_id": officer_a,
            "object_type": "members",
            "object_id": member_id,
            "detail": {"from_group": union.group_a, "to_group": union.group_b},
            "at": now,
            "scope_path": path_a,
        },
    )
    login_as(Role.chair, union.branch_a)
    body = html(client.get("/admin/audit/"))
    assert "会员 欧阳秘密" in body and f'href="/admin/members/{member_id}"' in body
    assert "乙组的人" not in body and f'href="/admin/members/{other_id}"' not in body
    assert "会员（范围外）" in body
    assert "原组织：测试公司工会 / 甲分会 / 甲一组" in body and "新组织：（范围外）" in body
    assert "乙一组" not in body


def test_deleted_records_say_so(app, client, union, login_as):
    admin_id = login_as(Role.admin, union.root)
    with app.app_context(), unit_of_work():
        spare = create_group("临时组", parent=db.session.get(Group, union.branch_a), staff=None)
        spare_id = spare.id
    with app.app_context(), unit_of_work():
        delete_group(db.session.get(Group, spare_id), staff=db.session.get(Staff, admin_id))
    assert "组织（已删除）" in rows_for(client, action="group.create", object_id=spare_id)
    deleted = rows_for(client, action="group.delete")
    assert "组织：（已删除）" in deleted and "名称：临时组" in deleted


def test_no_raw_codes_on_the_page(app, client, union, login_as):
    login_as(Role.admin, union.root)
    make_member(app, union.group_a)
    body = html(client.get("/admin/audit/"))
    table_text = body.split("<tbody>")[1].split("</tbody>")[0]
    assert "staff.login" not in table_text and "member.create" not in table_text
    assert "登录后台" in table_text and "添加会员" in table_text


def test_names_are_looked_up_once_per_kind_for_the_page(app, client, emu, union, login_as):
    """The number of queries for a page does not grow with its rows (no query per row)."""
    viewer = login_as(Role.admin, union.root)
    officer = make_staff(app, Role.officer, union.branch_a)

    def add_page_of(n):
        members = [make_member(app, union.group_a) for _ in range(n)]
        announcements = [make_announcement(app, officer, group_ids=[union.group_a]) for _ in range(n)]
        now = datetime.now(UTC)
        add_rows(
            app,
            *(
                {
                    "action": action,
                    "actor_staff_id": viewer,
                    "object_type": kind,
                    "object_id": target,
                    "detail": {
                        "from_group": union.group_a,
                        "to_group": union.group_b,
                        "scope": union.branch_a,
                    },
                    "at": now,
                }
                for kind, action, targets in (
                    ("members", "member.change_group", members),
                    ("announcements", "announcement.update", announcements),
                    ("groups", "group.rename", [union.group_a, union.group_b] * n),
                    ("staff", "staff.update", [officer, viewer] * n),
                )
                for target in targets
            ),
        )

    def statements_for_page():
        seen = []

        def listener(conn, cursor, statement, *args):
            seen.append(statement)

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/admin/audit/").status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)
        return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])

    add_page_of(2)
    few = statements_for_page()
    add_page_of(8)  # fills the page of 50 with other records of every kind
    assert statements_for_page() == few


def test_the_export_reads_like_the_page(app, client, union, login_as):
    login_as(Role.admin, union.root)
    make_member(app, union.group_a, name="王五")
    response = client.get("/admin/audit/export.xlsx?action=member.create")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    target, detail = header.index("对象"), header.index("详情")
    assert rows[0][target] == "会员 王五"
    assert "组织：测试公司工会 / 甲分会 / 甲一组" in rows[0][detail]


def test_the_export_masks_like_the_page(app, client, union, login_as):
    officer_a = make_staff(app, Role.officer, union.branch_a)
    other_id = make_member(app, union.group_b, name="乙组的人")
    add_rows(
        app,
        {
            "action": "member.update",
            "actor_staff_id": officer_a,
            "object_type": "members",
            "object_id": other_id,
            "at": datetime.now(UTC),
            "scope_path": get(app, Group, union.branch_a).path,
        },
    )
    login_as(Role.chair, union.branch_a)
    response = client.get("/admin/audit/export.xlsx?action=member.update")
    cells = [
        c
        for row in openpyxl.load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True)
        for c in row
    ]
    assert "会员（范围外）" in cells and not any("乙组的人" in str(c) for c in cells)
