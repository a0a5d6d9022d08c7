"""The member edit page sets the optional 退休日期; the member sees it in /me/export."""

from __future__ import annotations

from datetime import date

from backend.members.models import Member
from backend.staff.models import Role
from tests.admin.conftest import post
from tests.factories import auth, bound_member, get


def test_the_member_edit_page_sets_it_and_the_member_sees_it_in_the_export(app, client, emu, union, login_as):
    member_id, token = bound_member(app, client, emu, union.group_a)
    login_as(Role.officer, union.branch_a)
    page = client.get(f"/admin/members/{member_id}/edit")
    assert "退休日期" in page.get_data(as_text=True)
    found = get(app, Member, member_id)
    answer = post(
        client,
        f"/admin/members/{member_id}/edit",
        {
            "name": found.name,
            "employee_no": found.employee_no,
            "phone": "",
            "birthday": "",
            "joined_on": "",
            "retires_on": "2031-06-30",
        },
    )
    assert answer.status_code == 302
    assert get(app, Member, member_id).retires_on == date(2031, 6, 30)
    export = client.get("/api/v1/me/export", headers=auth(token)).get_json()
    assert export["member"]["retires_on"] == "2031-06-30"
