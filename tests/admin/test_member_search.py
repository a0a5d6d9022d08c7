"""The member list's search by the last four digits of a phone, which the list shows (issue 12, 9)."""

from __future__ import annotations

from backend.staff.models import Role
from tests.admin.conftest import html
from tests.factories import make_member


def test_the_list_shows_the_four_digits_it_can_be_searched_by(app, client, union, login_as):
    make_member(app, union.group_a, name="张三", employee_no="E001", phone="13800005678")
    make_member(app, union.group_a, name="王五", employee_no="E003", phone="13800001234")
    login_as(Role.group_leader, union.group_a)
    page = html(client.get("/admin/members/?q=5678"))
    assert "138****5678" in page and "张三" in page and "王五" not in page
