"""审计日志: who may read it, which rows they see, filters, pages, the Excel export; never editable."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from backend.audit.export import export_audit_log
from backend.audit.labels import ACTION_LABELS
from backend.audit.models import AuditLog
from backend.audit.operations import origin, record
from backend.audit.queries import AuditFilters, audit_entries, staff_choices
from backend.db import unit_of_work
from backend.errors import PermissionDenied, ValidationFailed
from backend.extensions import db
from backend.members.models import Group, Member
from backend.staff.models import ROLE_PERMISSIONS, Role, Staff
from tests.admin.conftest import assert_html_error, html
from tests.conftest import project_root
from tests.factories import bound_member, count, get, make_member, make_staff


def add_rows(app, *rows):
    """Audit rows as the product writes them, with the times the test needs."""
    with app.app_context(), unit_of_work():
        for row in rows:
            db.session.add(AuditLog(**row))


def table(response):
    """The log's rows on the page: one text per row, newest first."""
    body = html(response)
    assert response.status_code == 200, body[:300]
    if '<table class="grid">' not in body:
        return []
    tbody = body.split("<tbody>")[1].split("</tbody>")[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in tbody.split("</tr>")[:-1]]


def test_permission_goes_to_the_admin_and_the_chair_only():
    assert [role for role in Role if "view_audit_log" in ROLE_PERMISSIONS[role]] == [Role.admin, Role.chair]


@pytest.mark.parametrize(("role", "sees"), [(r, r in (Role.admin, Role.chair)) for r in Role])
def test_nav_entry_and_pages_only_for_the_permission(app, client, union, login_as, role, sees):
    login_as(role, union.root)
    nav = html(client.get("/admin/")).split('<nav class="sidenav">')[1].split("</nav>")[0]
    assert ("审计日志" in nav) is sees
    for url in ("/admin/audit/", "/admin/audit/export.xlsx"):
        if sees:
            assert client.get(url).status_code == 200, url
        else:
            body = assert_html_error(client.get(url), 403)
            assert "没有权限" in body


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/audit/")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_list_is_newest_first_in_chinese(app, client, union, login_as):
    make_member(app, union.group_a, name="王五")
    login_as(Role.admin, union.root)
    rows = table(client.get("/admin/audit/"))
    assert "登录后台" in rows[0] and "staff.login" not in rows[0]  # issue 12: no raw action codes
    assert any("添加会员" in row and "工号：" in row for row in rows)
    assert any("新建组织" in row for row in rows)
    assert rows.index(next(r for r in rows if "添加会员" in r)) < rows.index(
        next(r for r in rows if "新建组织" in r)
    )


def test_rows_link_to_the_record_they_touched(app, client, union, login_as):
    member_id = make_member(app, union.group_a)
    login_as(Role.admin, union.root)
    assert f'href="/admin/members/{member_id}"' in html(client.get("/admin/audit/?action=member.create"))


def test_filters_by_staff_action_target_and_local_dates(app, client, union, login_as):
    viewer = login_as(Role.admin, union.root)
    other = make_staff(app, Role.officer, union.branch_a)
    # 16:30 UTC on 1 March is already 2 March in Shanghai.
    late = datetime(2024, 3, 1, 16, 30, tzinfo=UTC)
    add_rows(
        app,
        {
            "action": "member.view_phone",
            "actor_staff_id": other,
            "object_type": "members",
            "object_id": 7,
            "at": late,
        },
        {
            "action": "member.view_phone",
            "actor_staff_id": other,
            "object_type": "members",
            "object_id": 8,
            "at": late,
        },
        {
            "action": "member.update",
            "actor_staff_id": viewer,
            "object_type": "members",
            "object_id": 7,
            "at": late,
        },
        {"action": "member.update", "actor_staff_id": other, "at": late - timedelta(days=1)},
    )

    def shown(**args):
        return len(table(client.get("/admin/audit/", query_string=args)))

    assert shown(staff_id=other) == 3
    assert shown(staff_id=other, action="member.view_phone") == 2
    assert shown(object_type="members", object_id=7) == 2
    assert shown(action="member.update", date_from="2024-03-02", date_to="2024-03-02") == 1
    assert shown(action="member.update", date_from="2024-03-01", date_to="2024-03-01") == 1
    assert shown(action="member.update", date_to="2024-02-29") == 0
    assert shown(action="member.update", date_from="2024-02-29") == 2


def test_bad_filters_are_explained_in_chinese(app, client, union, login_as):
    login_as(Role.admin, union.root)
    cases = {
        "date_from=2024-03-02&date_to=2024-03-01": "结束日期不能早于开始日期",
        "object_id=abc": "对象编号应为数字",
        "date_from=yesterday": "日期格式不正确",
        "staff_id=999999": "操作人",
        "date_from=0001-01-01": "请填写 2000 年到 2099 年之间的日期",
        "date_to=9999-12-31": "请填写 2000 年到 2099 年之间的日期",
    }
    for query, message in cases.items():
        response = client.get(f"/admin/audit/?{query}")
        assert response.status_code == 422 and message in html(response), query
        assert "<table" not in html(response)


def test_unlabelled_action_is_still_shown_and_filterable(app, client, union, login_as):
    login_as(Role.admin, union.root)
    add_rows(app, {"action": "care.visit_recorded", "at": datetime.now(UTC)})
    rows = table(client.get("/admin/audit/?action=care.visit_recorded"))
    assert len(rows) == 1 and "care.visit_recorded" in rows[0]


def test_pages_of_fifty(app, client, union, login_as):
    login_as(Role.admin, union.root)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    add_rows(app, *({"action": "member.view_phone", "at": start + timedelta(minutes=n)} for n in range(60)))
    first = client.get("/admin/audit/?action=member.view_phone")
    assert len(table(first)) == 50 and "共 60 条" in html(first)
    assert "action=member.view_phone" in html(first).split('class="pagination"')[1]  # filters stay on paging
    second = table(client.get("/admin/audit/?action=member.view_phone&page=2"))
    assert len(second) == 10 and second[-1].startswith("2024-01-01 08:00")


def test_branch_chair_reads_the_rows_of_people_in_their_branch(app, client, emu, union, login_as):
    officer_a = make_staff(app, Role.officer, union.branch_a)
    officer_b = make_staff(app, Role.officer, union.branch_b)
    member_a, _ = bound_member(app, client, emu, union.group_a)
    member_b, _ = bound_member(app, client, emu, union.group_b)
    now = datetime.now(UTC)
    path_a, path_b = (get(app, Group, branch).path for branch in (union.branch_a, union.branch_b))
    add_rows(
        app,
        {
            "action": "member.view_phone",
            "actor_staff_id": officer_a,
            "object_id": 1,
            "at": now,
            "scope_path": path_a,
        },
        {
            "action": "member.view_phone",
            "actor_staff_id": officer_b,
            "object_id": 2,
            "at": now,
            "scope_path": path_b,
        },
    )
    chair = app.test_client()
    login_as(Role.chair, union.branch_a, on=chair)
    rows = " | ".join(table(chair.get("/admin/audit/?page=1")))
    assert "查看会员完整手机号" in rows and rows.count("查看会员完整手机号") == 1
    assert rows.count("职工在小程序认证会员身份") == 1
    assert get(app, Member, member_a).name in rows and get(app, Member, member_b).name not in rows
    assert "新建组织" not in rows  # rows without a staff author belong to whoever holds the whole union
    options = html(chair.get("/admin/audit/")).split('name="staff_id"')[1].split("</select>")[0]
    assert f'value="{officer_a}"' in options and f'value="{officer_b}"' not in options
    assert chair.get(f"/admin/audit/?staff_id={officer_b}").status_code == 422

    whole = app.test_client()
    login_as(Role.chair, union.root, on=whole)
    rows = " | ".join(table(whole.get("/admin/audit/")))
    assert rows.count("查看会员完整手机号") == 2 and rows.count("职工在小程序认证会员身份") == 2
    assert "新建组织" in rows


def test_details_are_escaped(app, client, union, login_as):
    login_as(Role.admin, union.root)
    add_rows(
        app,
        {
            "action": "member.update",
            "detail": {"reason": "<script>alert(1)</script>"},
            "at": datetime.now(UTC),
        },
    )
    body = html(client.get("/admin/audit/?action=member.update"))
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body


def test_export_is_an_excel_of_the_filtered_rows_and_is_audited(app, client, union, login_as):
    viewer = login_as(Role.admin, union.root)
    make_member(app, union.group_a)
    make_member(app, union.group_a)
    response = client.get("/admin/audit/export.xlsx?action=member.create")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("时间", "操作人", "操作", "操作代码")
    assert [row[3] for row in rows[1:]] == ["member.create", "member.create"]
    assert all(row[2] == "添加会员" and isinstance(row[0], datetime) for row in rows[1:])
    with app.app_context():
        exported = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "audit.export")).one()
        assert exported.actor_staff_id == viewer
        assert exported.detail == {"rows": 2, "filters": {"action": "member.create"}}


def test_export_never_turns_typed_text_into_formulas(app, client, union, login_as):
    login_as(Role.admin, union.root)
    sneaky = make_staff(app, Role.officer, union.branch_a)
    with app.app_context(), unit_of_work():
        db.session.get(Staff, sneaky).display_name = '=HYPERLINK("http://evil.example","点我")'
    add_rows(app, {"action": "=1+2", "actor_staff_id": sneaky, "at": datetime.now(UTC)})
    response = client.get("/admin/audit/export.xlsx", query_string={"action": "=1+2"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    actor, label, code = (sheet.cell(row=2, column=n) for n in (2, 3, 4))
    assert actor.value.startswith("=HYPERLINK") and code.value == "=1+2"
    assert {actor.data_type, label.data_type, code.data_type} == {"s"}


@pytest.mark.parametrize("role", [Role.officer, Role.group_leader])
def test_reading_the_log_needs_the_permission_beyond_the_admin_door(app, union, role):
    staff_id = make_staff(app, role, union.root)
    with app.app_context():
        staff = db.session.get(Staff, staff_id)
        for read in (lambda: audit_entries(staff, AuditFilters()), lambda: staff_choices(staff)):
            with pytest.raises(PermissionDenied):
                read()
        with pytest.raises(PermissionDenied):
            export_audit_log(staff, AuditFilters())


def test_export_of_too_many_rows_is_refused(app, union):
    admin_id = make_staff(app, Role.admin, union.root)
    with app.app_context(), pytest.raises(ValidationFailed) as refused:
        export_audit_log(db.session.get(Staff, admin_id), AuditFilters(), max_rows=2)
    assert "请缩小日期范围" in refused.value.message
    assert count(app, AuditLog, AuditLog.action == "audit.export") == 0


def test_bad_export_filters_go_back_to_the_list(app, client, union, login_as):
    login_as(Role.admin, union.root)
    response = client.get("/admin/audit/export.xlsx?object_id=abc")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/audit/?")
    response = client.get("/admin/audit/export.xlsx?date_to=9999-12-31")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/audit/?")
    assert "筛选条件有误" in html(client.get(response.headers["Location"]))


def test_the_log_cannot_be_changed_through_the_admin(app, client, union, login_as):
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin/audit")]
    assert rules and all(rule.methods <= {"GET", "HEAD", "OPTIONS"} for rule in rules)
    login_as(Role.admin, union.root)
    assert_html_error(client.post("/admin/audit/"), 405)


def test_every_recorded_action_has_a_chinese_label():
    recorded = set()
    for folder in ("backend", "admin", "miniprogram_api"):
        for path in (project_root() / folder).rglob("*.py"):
            recorded |= set(
                re.findall(r"""\brecord\(\s*["']([a-z_]+\.[a-z_]+)["']""", path.read_text("utf-8"))
            )
    recorded |= {"join_request.approved", "join_request.rejected"}  # record(f"join_request.{status}")
    assert recorded and recorded <= ACTION_LABELS.keys(), sorted(recorded - ACTION_LABELS.keys())


def test_cli_rows_are_labelled_as_the_shell(app, client, union, login_as):
    with app.app_context(), origin("cli"), unit_of_work():
        record("roster.import", total=0)
    login_as(Role.admin, union.root)
    assert "命令行或后台任务" in table(client.get("/admin/audit/?action=roster.import"))[0]


def test_a_name_that_matches_no_account_is_masked_in_the_log_and_the_export(app, client, union, login_as):
    """A password typed into the name box must not be readable by whoever reads the log."""
    login_as(Role.admin, union.root)
    add_rows(
        app,
        {"action": "staff.login_failed", "detail": {"username": "MySecret-2026"}, "at": datetime.now(UTC)},
    )
    page = html(client.get("/admin/audit/?action=staff.login_failed"))
    assert "My***" in page and "MySecret-2026" not in page
    response = client.get("/admin/audit/export.xlsx?action=staff.login_failed")
    cells = [
        c
        for row in openpyxl.load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True)
        for c in row
    ]
    assert not any("MySecret-2026" in str(c) for c in cells)


def test_account_deletions_say_why_in_chinese(app, client, union, login_as):
    login_as(Role.admin, union.root)
    add_rows(
        app,
        {
            "action": "member.account_deleted",
            "detail": {"reason": "wechat_cancellation"},
            "at": datetime.now(UTC),
        },
    )
    page = html(client.get("/admin/audit/?action=member.account_deleted"))
    assert "职工在微信中取消了授权" in page and "wechat_cancellation" not in page
