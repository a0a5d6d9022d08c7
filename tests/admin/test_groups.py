"""组织架构: the tree with counts; create, rename, delete only when empty."""

from __future__ import annotations

from backend.audit.models import AuditLog
from backend.members.models import Group
from backend.staff.models import Role
from tests.admin.conftest import html, post
from tests.factories import count, get, make_member


def test_tree_shows_scope_with_member_counts(app, client, union, login_as):
    make_member(app, union.group_a)
    make_member(app, union.group_a)
    make_member(app, union.group_b)
    login_as(Role.chair, union.root)
    body = html(client.get("/admin/groups/")).split('<table class="grid tree">')[1]
    assert body.index("测试公司工会") < body.index("甲分会") < body.index("甲一组") < body.index("乙分会")
    row = body[body.index("甲一组") :].split("</tr>")[0]
    assert '<td class="num">2</td>' in row
    root_row = body[body.index("测试公司工会") :].split("</tr>")[0]
    assert root_row.count('<td class="num">') == 2 and '<td class="num">3</td>' in root_row


def test_create_rename_delete(app, client, union, login_as):
    login_as(Role.chair, union.branch_a)
    response = post(client, f"/admin/groups/{union.branch_a}/new", {"name": "甲二组"})
    assert response.status_code == 302
    assert "已在「甲分会」下新建「甲二组」" in html(client.get(response.headers["Location"]))
    with app.app_context():
        from backend.extensions import db

        new_id = db.session.scalar(db.select(Group.id).where(Group.name == "甲二组"))
    assert post(client, f"/admin/groups/{new_id}/rename", {"name": "甲三组"}).status_code == 302
    assert get(app, Group, new_id).name == "甲三组"
    response = post(client, f"/admin/groups/{new_id}/delete")
    assert response.status_code == 302 and get(app, Group, new_id) is None
    assert "已删除「甲三组」" in html(client.get("/admin/groups/"))
    assert count(app, AuditLog, AuditLog.action.like("group.%"), AuditLog.actor_staff_id.is_not(None)) == 3


def test_duplicate_and_empty_names_rerender_in_chinese(app, client, union, login_as):
    login_as(Role.chair, union.root)
    response = post(client, f"/admin/groups/{union.branch_a}/new", {"name": "甲一组"})
    assert response.status_code == 422 and "同一上级下已有同名组织" in html(response)
    response = post(client, f"/admin/groups/{union.group_a}/rename", {"name": ""})
    assert response.status_code == 422 and "请填写组织名称" in html(response)
    assert count(app, Group) == 5 and get(app, Group, union.group_a).name == "甲一组"


def test_delete_non_empty_group_explains_why(app, client, union, login_as):
    make_member(app, union.group_a)
    login_as(Role.chair, union.root)
    response = post(client, f"/admin/groups/{union.group_a}/delete", follow_redirects=True)
    assert "不能删除「甲一组」" in html(response) and "还有下级组织或会员" in html(response)
    response = post(client, f"/admin/groups/{union.branch_b}/delete", follow_redirects=True)
    assert "不能删除「乙分会」" in html(response)
    assert count(app, Group) == 5


def test_cannot_delete_own_top_group(app, client, union, login_as):
    login_as(Role.chair, union.group_a)
    response = post(client, f"/admin/groups/{union.group_a}/delete", follow_redirects=True)
    assert "不能删除您负责的最上级组织" in html(response)
    assert get(app, Group, union.group_a) is not None
