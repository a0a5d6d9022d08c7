"""The birthday greeting reaches the inbox once a year (WeChat when there is credit); the due list; what
/me/export shows and DELETE /me keeps of care data."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from backend.care.due import due_list
from backend.care.greetings import send_birthday_greetings
from backend.care.models import CareCategory, CareRequest, CareVisit, ContentState, RequestStatus
from backend.db import today as local_today
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.members.models import Member, MemberStatus
from backend.notifications.models import Notification
from backend.staff.models import Role, Staff
from tests.care_helpers import policy, visit
from tests.factories import auth, bound_member, count, get, make_member, make_staff


def _greetings(app, day):
    with app.app_context(), unit_of_work():
        return send_birthday_greetings(day)


def test_birthday_greeting_once_a_year(app, union):
    born = make_member(app, union.group_a, birthday=date(1990, 3, 15))
    make_member(app, union.group_a, birthday=date(1990, 3, 16))
    leap = make_member(app, union.group_b, birthday=date(1992, 2, 29))
    assert _greetings(app, date(2026, 3, 15)) == 1
    assert _greetings(app, date(2026, 3, 15)) == 0  # rerun: nothing new
    assert _greetings(app, date(2027, 3, 15)) == 1  # next year again
    assert count(app, Notification, Notification.member_id == born) == 2
    assert _greetings(app, date(2026, 2, 28)) == 1  # 29 February, greeted on the 28th of other years
    assert count(app, Notification, Notification.member_id == leap) == 1


def test_birthday_greeting_is_pushed_with_credit(app, client, emu, union):
    from tests.factories import grant

    today = local_today()
    member_id, _ = bound_member(
        app, client, emu, union.group_a, birthday=date(1990, today.month, min(today.day, 28))
    )
    grant(app, emu, member_id)
    assert _greetings(app, date(today.year, today.month, min(today.day, 28))) == 1
    with app.app_context():
        row = db.session.scalars(
            sa.select(Notification).where(Notification.member_id == member_id, Notification.kind == "care")
        ).one()
        assert row.dedupe_key.startswith("care:birthday:")


def test_run_periodic_sends_greetings(app, union):
    today = local_today()  # the job greets on the Beijing date: from 16:00 UTC on, the next day's
    make_member(
        app,
        union.group_a,
        birthday=date(1990, today.month, today.day)
        if (today.month, today.day) != (2, 29)
        else date(1992, 2, 29),
    )
    with app.app_context():
        runner = app.test_cli_runner()
        out = runner.invoke(args=["run-periodic"])
    assert out.exit_code == 0, out.output
    assert "生日祝福 1 条" in out.output


def test_due_list_in_scope(app, union):
    staff_a = make_staff(app, Role.officer, union.branch_a)
    staff_b = make_staff(app, Role.officer, union.branch_b)
    today = date(2026, 6, 1)
    member = make_member(app, union.group_a, birthday=date(1980, 6, 3))
    make_member(app, union.group_a, birthday=date(1980, 7, 3))
    with app.app_context(), unit_of_work():
        m = db.session.get(Member, member)
        old = CareRequest(
            member=m,
            category=CareCategory.hospitalization,
            description="住院",
            occurred_on=today,
            content_state=ContentState.passed,
            created_at=utcnow() - timedelta(days=5),
        )
        soon = CareRequest(
            member=m,
            category=CareCategory.retirement,
            description="退休",
            occurred_on=today + timedelta(days=3),
        )
        db.session.add_all([old, soon])
    with app.app_context():
        due = due_list(db.session.get(Staff, staff_a), today=today)
        assert [b.id for b in due.birthdays] == [member]
        assert len(due.not_followed_up) == 1 and len(due.retirements) == 1 and due.open_requests == 2
        assert due_list(db.session.get(Staff, staff_b), today=today).empty


def test_export_and_delete_cover_care_data(app, client, emu, union):
    policy(app)
    member_id, token = bound_member(app, client, emu, union.group_a)
    staff = make_staff(app, Role.officer, union.root)
    visit_id = visit(app, staff, member_id)
    client.post(f"/api/v1/care/visits/{visit_id}/receipt", headers=auth(token))
    client.post(
        f"/api/v1/care/visits/{visit_id}/feedback",
        json={"rating": 4, "comment": "谢谢工会"},
        headers=auth(token),
    )
    body = {"category": "marriage", "description": "下月结婚", "occurred_on": "2026-06-01"}
    untouched = client.post("/api/v1/care/requests", json=body, headers=auth(token)).get_json()["id"]
    acted = client.post("/api/v1/care/requests", json=body, headers=auth(token)).get_json()["id"]
    with app.app_context(), unit_of_work():
        db.session.get(CareRequest, acted).status = RequestStatus.closed
    export = client.get("/api/v1/me/export", headers=auth(token)).get_json()
    assert [v["id"] for v in export["care"]["visits"]] == [visit_id]
    assert export["care"]["visits"][0]["comment"] == "谢谢工会"
    assert export["care"]["visits"][0]["comment_held"] is False and "event_on" in export["care"]["visits"][0]
    assert len(export["care"]["requests"]) == 2
    assert client.delete("/api/v1/me", headers=auth(token)).status_code == 204
    kept = get(app, CareVisit, visit_id)
    assert (
        kept.amount_fen == 20000 and kept.received_at is not None and kept.rating == 4 and kept.comment == ""
    )
    assert get(app, CareRequest, untouched) is None and get(app, CareRequest, acted) is not None
    assert get(app, Member, member_id).status == MemberStatus.active
