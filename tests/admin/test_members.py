"""会员名册: search, filters, pagination, detail, create, edit, 转会 and 离会."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.members.models import ApiToken, GroupChange, Member, MemberStatus
from backend.staff.models import Role
from tests.admin.conftest import html, post
from tests.factories import bound_member, count, get, make_member


def test_empty_roster_explains_how_to_add_members(client, union, login_as):
    login_as(Role.officer, union.branch_a)
    body = html(client.get("/admin/members/"))
    assert "还没有会员" in body and "导入名册" in body


def test_list_shows_masked_phone_and_wechat_state(app, client, emu, union, login_as):
    bound_member(app, client, emu, union.group_a, name="张三", phone="13812345678")
    make_member(app, union.group_a, name="李四", phone="13900001111")
    login_as(Role.officer, union.branch_a)
    body = html(client.get("/admin/members/"))
    assert "张三" in body and "李四" in body
    assert "138****5678" in body and "13812345678" not in body
    assert "已绑定" in body and "未绑定" in body


def test_search_by_name_employee_no_and_phone(app, client, union, login_as):
    make_member(app, union.group_a, name="王小明", employee_no="E1001", phone="13811112222")
    make_member(app, union.group_a, name="赵大", employee_no="F2002", phone="13933334444")
    login_as(Role.officer, union.branch_a)

    def names(**query):
        body = html(client.get("/admin/members/", query_string=query))
        return {name for name in ("王小明", "赵大") if name in body}

    assert names(q="小明") == {"王小明"}
    assert names(q="e10") == {"王小明"}
    assert names(q="13933334444") == {"赵大"}
    assert names(q="3333") == set()
    assert "没有找到符合条件的会员" in html(client.get("/admin/members/?q=nobody"))


def test_filter_by_group_and_status(app, client, union, login_as):
    make_member(app, union.branch_a, name="分会直属")
    left = make_member(app, union.group_a, name="已走的人")
    make_member(app, union.group_a, name="组里的人")
    with app.app_context():
        from backend.db import unit_of_work
        from backend.members.operations import set_member_status

        with unit_of_work():
            set_member_status(db.session.get(Member, left), MemberStatus.left, staff=None)
    login_as(Role.officer, union.branch_a)
    body = html(client.get(f"/admin/members/?group={union.group_a}"))
    assert "组里的人" in body and "已走的人" in body and "分会直属" not in body
    body = html(client.get(f"/admin/members/?group={union.group_a}&status=active"))
    assert "组里的人" in body and "已走的人" not in body
    body = html(client.get("/admin/members/?status=left"))
    assert "已走的人" in body and "组里的人" not in body
    assert client.get("/admin/members/?group=abc").status_code == 404
    assert client.get("/admin/members/?status=bogus&page=-3").status_code == 200


def test_pagination_twenty_per_page(app, client, union, login_as):
    for n in range(45):
        make_member(app, union.group_a, name=f"会员{n:02d}", employee_no=f"P{n:03d}")
    login_as(Role.officer, union.branch_a)
    first = html(client.get("/admin/members/"))
    assert first.count("/admin/members/") > 20 and "P000" in first and "P019" in first and "P020" not in first
    assert "共 45 条" in first and "下一页" in first
    third = html(client.get("/admin/members/?page=3"))
    assert "P040" in third and "P044" in third and "P039" not in third
    assert "上一页" in third
    assert "没有找到" in html(client.get("/admin/members/?page=99&q=P"))


def test_detail_masks_the_phone_and_a_click_shows_it_audited(app, client, union, login_as):
    """Issue 12: opening the page reads nothing sensitive; 显示完整号码 is a click, audited."""
    member_id = make_member(app, union.group_a, name="张三", phone="13812345678")
    login_as(Role.officer, union.branch_a)
    body = html(client.get(f"/admin/members/{member_id}"))
    assert "13812345678" not in body and "138****5678" in body and "测试公司工会 / 甲分会 / 甲一组" in body
    assert f'action="/admin/members/{member_id}/phone"' in body and "显示完整号码" in body
    assert count(app, AuditLog, AuditLog.action == "member.view_phone") == 0
    shown = post(client, f"/admin/members/{member_id}/phone")
    assert shown.status_code == 200 and "13812345678" in html(shown) and "张三" in html(shown)
    assert count(app, AuditLog, AuditLog.action == "member.view_phone", AuditLog.object_id == member_id) == 1


def test_detail_shows_masked_phone_to_group_leader_without_edit_buttons(app, client, union, login_as):
    member_id = make_member(app, union.group_a, name="张三", phone="13812345678")
    login_as(Role.group_leader, union.group_a)
    body = html(client.get(f"/admin/members/{member_id}"))
    assert "138****5678" in body and "13812345678" not in body
    assert "编辑资料" not in body and "转会" not in body.split("转会记录")[0].split("</nav>")[-1]
    assert count(app, AuditLog, AuditLog.action == "member.view_phone") == 0


def test_create_member(app, client, union, login_as):
    login_as(Role.officer, union.branch_a)
    assert client.get("/admin/members/new").status_code == 200
    response = post(
        client,
        "/admin/members/new",
        {
            "name": "新人",
            "employee_no": "n777",
            "phone": "13700001111",
            "group_id": union.group_a,
            "birthday": "1990-05-01",
            "joined_on": "",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        member = db.session.scalar(sa.select(Member).where(Member.employee_no == "N777"))
        assert member.group_id == union.group_a and member.birthday == date(1990, 5, 1)
    assert "已添加会员「新人」" in html(client.get(response.headers["Location"]))
    assert count(app, AuditLog, AuditLog.action == "member.create") == 1


def test_create_member_validation_errors_are_chinese_and_write_nothing(app, client, union, login_as):
    make_member(app, union.group_a, employee_no="DUP1")
    login_as(Role.officer, union.branch_a)
    before = count(app, Member)
    response = post(
        client,
        "/admin/members/new",
        {"name": "", "employee_no": "x", "phone": "123", "group_id": union.group_a, "birthday": "1990/13/45"},
    )
    body = html(response)
    assert response.status_code == 422
    assert "请填写姓名" in body and "请填写 11 位手机号码" in body and "日期格式不正确" in body
    response = post(
        client, "/admin/members/new", {"name": "重复", "employee_no": "dup1", "group_id": union.group_a}
    )
    assert response.status_code == 409 and "工号已存在" in html(response)
    assert count(app, Member) == before


def test_create_member_only_into_groups_in_scope(app, client, union, login_as):
    login_as(Role.officer, union.branch_a)
    response = post(
        client, "/admin/members/new", {"name": "越界", "employee_no": "X1", "group_id": union.group_b}
    )
    assert response.status_code == 422 and "不在您负责的范围内" in html(response)
    assert count(app, Member) == 0


def test_edit_member_saves_and_audits_changed_fields(app, client, union, login_as):
    member_id = make_member(app, union.group_a, name="张三", employee_no="E1", phone="13812345678")
    login_as(Role.officer, union.branch_a)
    page = html(client.get(f"/admin/members/{member_id}/edit"))
    # Issue 12: the edit form no longer shows (nor silently reads) the full number.
    assert "13812345678" not in page and "留空则保持原号码 138****5678" in page
    assert count(app, AuditLog, AuditLog.action == "member.view_phone") == 0
    response = post(
        client,
        f"/admin/members/{member_id}/edit",
        {"name": "张三丰", "employee_no": "E1", "phone": "13800000000", "birthday": "", "joined_on": ""},
    )
    assert response.status_code == 302
    member = get(app, Member, member_id)
    assert member.name == "张三丰" and member.phone == "13800000000"
    with app.app_context():
        row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "member.update"))
        assert set(row.detail["fields"]) >= {"name", "phone"} and row.actor_staff_id is not None


def test_edit_member_duplicate_employee_no_rerenders_and_writes_nothing(app, client, union, login_as):
    make_member(app, union.group_a, employee_no="TAKEN")
    member_id = make_member(app, union.group_a, name="张三", employee_no="E1")
    login_as(Role.officer, union.branch_a)
    response = post(
        client, f"/admin/members/{member_id}/edit", {"name": "改名了", "employee_no": "taken", "phone": ""}
    )
    assert response.status_code == 409 and "工号已存在" in html(response)
    member = get(app, Member, member_id)
    assert member.name == "张三" and member.employee_no == "E1" and member.phone
    assert count(app, AuditLog, AuditLog.action == "member.update") == 0


def test_change_group_keeps_history_and_audits(app, client, union, login_as):
    member_id = make_member(app, union.branch_a, name="张三")
    login_as(Role.officer, union.branch_a)
    assert client.get(f"/admin/members/{member_id}/group").status_code == 200
    response = post(client, f"/admin/members/{member_id}/group", {"group_id": union.group_a, "reason": ""})
    assert response.status_code == 422 and "请填写转会原因" in html(response)
    response = post(
        client, f"/admin/members/{member_id}/group", {"group_id": union.group_a, "reason": "岗位调整"}
    )
    assert response.status_code == 302
    assert get(app, Member, member_id).group_id == union.group_a
    with app.app_context():
        change = db.session.scalar(sa.select(GroupChange))
        assert (change.from_group_id, change.to_group_id, change.reason) == (
            union.branch_a,
            union.group_a,
            "岗位调整",
        )
        assert change.changed_by_id is not None
    assert count(app, AuditLog, AuditLog.action == "member.change_group") == 1
    body = html(client.get(f"/admin/members/{member_id}"))
    assert "岗位调整" in body and "测试公司工会 / 甲分会 / 甲一组" in body
    assert "已转入「甲一组」" in body


def test_change_group_to_the_same_group_is_refused(app, client, union, login_as):
    member_id = make_member(app, union.group_a)
    login_as(Role.officer, union.branch_a)
    response = post(client, f"/admin/members/{member_id}/group", {"group_id": union.group_a, "reason": "x"})
    assert response.status_code == 422 and "不同的组织" in html(response)
    assert count(app, GroupChange) == 0


def test_mark_left_revokes_app_sessions_and_restore(app, client, emu, union, login_as):
    member_id, _token = bound_member(app, client, emu, union.group_a)
    login_as(Role.officer, union.branch_a)
    response = post(client, f"/admin/members/{member_id}/status/left", {"reason": "调离"})
    assert response.status_code == 302
    assert get(app, Member, member_id).status == MemberStatus.left
    assert count(app, ApiToken, ApiToken.revoked_at.is_(None)) == 0
    assert "已标记为离会" in html(client.get(response.headers["Location"]))
    assert post(client, f"/admin/members/{member_id}/status/active").status_code == 302
    assert get(app, Member, member_id).status == MemberStatus.active
    assert count(app, AuditLog, AuditLog.action == "member.status") == 2
