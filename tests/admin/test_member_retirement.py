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


def test_the_dashboard_lists_a_retirement_with_a_link_to_record_its_visit(app, client, union, login_as):
    from backend.db import today
    from tests.factories import make_member

    login_as(Role.officer, union.branch_a)
    member_id = make_member(app, union.group_a, name="退休的人", retires_on=today())
    page = client.get("/admin/").get_data(as_text=True)
    assert f"退休的人 将于 {today()} 退休" in page
    link = f"/admin/care/visits/new?member_id={member_id}&amp;category=retirement"
    assert link in page
    form = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert '<option selected value="retirement">' in form or 'value="retirement" selected' in form
