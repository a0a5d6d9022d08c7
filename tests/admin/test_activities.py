"""活动报名 in the admin: create and publish, the registrations by hand, the sheet, the poster, figures."""

from __future__ import annotations

from io import BytesIO

import openpyxl
import sqlalchemy as sa

from backend.activities.models import Activity, ActivityStatus, Registration, RegistrationStatus
from backend.audit.models import AuditLog
from backend.extensions import db
from backend.members.models import Member
from backend.staff.models import Role
from tests.admin.conftest import assert_html_error, html, post
from tests.factories import get, make_activity, make_member


def _form(**overrides):
    data = {
        "title": "亲子运动会",
        "category": "sports_culture",
        "description_html": "<p>欢迎<strong>全家</strong>参加</p><script>alert(1)</script>",
        "location": "体育馆",
        "starts_at": "2030-05-01T09:00",
        "ends_at": "2030-05-01T12:00",
        "registration_opens_at": "2030-04-01T09:00",
        "registration_closes_at": "2030-04-25T18:00",
        "capacity": "30",
        "max_companions": "2",
        "allocation": "first_come",
        "waitlist_enabled": "y",
        "checkin_required": "y",
        "audience": "groups",
        "form_fields": "衣服尺码|单选|必填|小号,中号,大号\n孩子年龄|数字|选填",
    }
    data.update(overrides)
    return data


def test_create_publish_and_copy(app, client, union, login_as):
    login_as(Role.officer, union.branch_a)
    assert "还没有活动" in html(client.get("/admin/activities/"))
    page = html(client.get("/admin/activities/new"))
    assert "甲一组" in page and "乙一组" not in page
    refused = post(client, "/admin/activities/new", _form(groups=[union.group_b]))
    assert refused.status_code == 422
    saved = post(client, "/admin/activities/new", _form(groups=[union.group_a]))
    assert saved.status_code == 302, html(saved)[:2000]
    with app.app_context():
        activity = db.session.scalars(sa.select(Activity)).one()
        assert "<script>" not in activity.description_html and activity.status == ActivityStatus.draft
        assert [f["type"] for f in activity.form_fields] == ["choice", "number"]
        activity_id = activity.id
    post(client, f"/admin/activities/{activity_id}/publish")
    assert get(app, Activity, activity_id).status == ActivityStatus.published
    assert "亲子运动会" in html(client.get(f"/admin/activities/{activity_id}"))
    copied = post(client, f"/admin/activities/{activity_id}/copy")
    assert copied.status_code == 302 and "/edit" in copied.headers["Location"]


def test_another_branch_sees_404_and_group_leaders_403(app, client, union, login_as, root_officer):
    activity_id = make_activity(app, root_officer, whole_union=False, group_ids=[union.group_b])
    login_as(Role.officer, union.branch_a)
    assert_html_error(client.get(f"/admin/activities/{activity_id}"), 404)
    assert_html_error(client.get(f"/admin/activities/{activity_id}/sheet.xlsx"), 404)
    other = app.test_client()
    login_as(Role.group_leader, union.root, on=other)
    assert_html_error(other.get("/admin/activities/"), 403)


def test_registrations_by_hand_checkin_and_the_sheet(app, client, emu, union, login_as):
    staff_id = login_as(Role.officer, union.root)
    activity_id = make_activity(app, staff_id, capacity=1, form_fields=[{"label": "尺码", "type": "text"}])
    first = make_member(app, union.group_a, name="王芳", phone="13912345678")
    second = make_member(app, union.group_b, name="李雷")
    for member_id in (first, second):
        employee_no = get(app, Member, member_id).employee_no
        answer = post(client, f"/admin/activities/{activity_id}/registrations/add",
                      {"employee_no": employee_no, "reason": "电话报名", "companions": "0"})  # fmt: skip
        assert answer.status_code == 302
    with app.app_context():
        rows = dict(db.session.execute(sa.select(Registration.member_id, Registration.id)).tuples().all())
    page = html(client.get(f"/admin/activities/{activity_id}/registrations"))
    assert "王芳" in page and "候补中 1" in page
    assert (
        html(client.get(f"/admin/activities/{activity_id}/registrations?status=waitlisted")).count("李雷")
        == 1
    )
    post(
        client, f"/admin/activities/{activity_id}/registrations/{rows[first]}/remove", {"reason": "本人取消"}
    )
    assert get(app, Registration, rows[second]).status == RegistrationStatus.registered  # promoted
    post(client, f"/admin/activities/{activity_id}/registrations/{rows[second]}/checkin")
    assert get(app, Registration, rows[second]).checked_in_at is not None
    sheet = client.get(f"/admin/activities/{activity_id}/sheet.xlsx")
    assert sheet.status_code == 200
    book = openpyxl.load_workbook(BytesIO(sheet.data))
    values = [tuple(c for c in row if c is not None) for row in book.active.iter_rows(values_only=True)]
    assert "职工趣味运动会" in values[0][0]
    assert values[1] == (
        "序号",
        "姓名",
        "工号",
        "手机号",
        "所属组织",
        "报名时间",
        "签到时间",
        "同行人数",
        "尺码",
        "签名",
    )
    assert values[2][1] == "李雷" and values[-1][0].startswith("合计：报名 1 人")
    printable = html(client.get(f"/admin/activities/{activity_id}/sheet"))
    assert "实名制签到表" in printable and "李雷" in printable
    with app.app_context():
        actions = set(db.session.scalars(sa.select(AuditLog.action)))
    assert {
        "activity.add_member",
        "activity.remove_member",
        "activity.checkin",
        "activity.export_sheet",
    } <= actions
    figures = html(client.get(f"/admin/activities/{activity_id}/figures"))
    assert "参与率" in figures and "<svg" in figures


def test_the_poster_carries_the_signed_scene(app, client, emu, union, login_as):
    staff_id = login_as(Role.officer, union.root)
    activity_id = make_activity(app, staff_id)
    page = html(client.get(f"/admin/activities/{activity_id}/poster"))
    assert "签到" in page
    image = client.get(f"/admin/activities/{activity_id}/poster.png")
    assert image.status_code == 200 and image.mimetype == "image/png"
    calls = emu.stats()["calls"]
    assert calls.get("wxa/getwxacodeunlimit")  # the image came from WeChat (the emulator)
