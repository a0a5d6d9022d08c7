"""Activities over the API (API.md: Activities): browsing, sign-up rules, waitlist, check-in."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from backend.activities.checkin import checkin_token
from backend.activities.models import Activity, Allocation, Registration
from backend.db import utcnow
from backend.extensions import db
from backend.notifications.models import Notification
from tests.factories import api_login, auth, bound_member, make_activity


def _reg(client, token, activity_id, **body):
    return client.post(f"/api/v1/activities/{activity_id}/registration", json=body, headers=auth(token))


def _token(app, activity_id):
    with app.app_context():
        return checkin_token(db.session.get(Activity, activity_id))


def test_register_is_201_then_the_same_registration_200(app, client, emu, union, root_officer):
    activity_id = make_activity(app, root_officer)
    _, token = bound_member(app, client, emu, union.group_a)
    first = _reg(client, token, activity_id)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["status"] == "registered" and first.get_json()["waitlist_position"] is None
    again = _reg(client, token, activity_id, companions=0)
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    detail = client.get(f"/api/v1/activities/{activity_id}", headers=auth(token)).get_json()
    assert detail["seats_taken"] == 1 and detail["my_registration"]["id"] == first.get_json()["id"]
    assert detail["status"] == "published" and detail["draw"] is None


def test_companions_take_seats_and_the_waitlist_is_gapless(app, client, emu, union, root_officer):
    activity_id = make_activity(app, root_officer, capacity=4, max_companions=2)
    tokens = [bound_member(app, client, emu, union.group_a)[1] for _ in range(4)]
    assert _reg(client, tokens[0], activity_id, companions=3).status_code == 422
    assert _reg(client, tokens[0], activity_id, companions=2).get_json()["status"] == "registered"
    answers = [_reg(client, t, activity_id).get_json() for t in tokens[1:]]
    assert [(a["status"], a["waitlist_position"]) for a in answers] == [
        ("registered", None),
        ("waitlisted", 1),
        ("waitlisted", 2),
    ]
    # the first waitlisted leaves: the second moves up to 1
    assert (
        client.delete(f"/api/v1/activities/{activity_id}/registration", headers=auth(tokens[2])).status_code
        == 204
    )
    mine = client.get(f"/api/v1/activities/{activity_id}", headers=auth(tokens[3])).get_json()[
        "my_registration"
    ]
    assert mine["waitlist_position"] == 1
    # the party of three cancels: the waitlisted member is promoted and told
    assert (
        client.delete(f"/api/v1/activities/{activity_id}/registration", headers=auth(tokens[0])).status_code
        == 204
    )
    mine = client.get(f"/api/v1/activities/{activity_id}", headers=auth(tokens[3])).get_json()
    assert mine["my_registration"]["status"] == "registered" and mine["seats_taken"] == 2
    with app.app_context():
        titles = db.session.scalars(sa.select(Notification.title)).all()
    assert any(t.startswith("候补成功") for t in titles)


def test_a_large_party_at_the_head_keeps_its_place_while_a_smaller_one_behind_fits(
    app, client, emu, union, root_officer
):
    activity_id = make_activity(app, root_officer, capacity=3, max_companions=3)
    a, b, c = (bound_member(app, client, emu, union.group_a)[1] for _ in range(3))
    _reg(client, a, activity_id, companions=2)  # 3 seats: full
    assert _reg(client, b, activity_id, companions=3).get_json()["waitlist_position"] == 1  # 4: never fits
    assert _reg(client, c, activity_id).get_json()["waitlist_position"] == 2
    client.patch(f"/api/v1/activities/{activity_id}/registration", json={"companions": 1}, headers=auth(a))
    head = client.get(f"/api/v1/activities/{activity_id}", headers=auth(b)).get_json()["my_registration"]
    behind = client.get(f"/api/v1/activities/{activity_id}", headers=auth(c)).get_json()["my_registration"]
    assert head["status"] == "waitlisted" and head["waitlist_position"] == 1
    assert behind["status"] == "registered"


def test_full_without_waitlist_window_and_cancelled(app, client, emu, union, root_officer):
    now = utcnow()
    full = make_activity(app, root_officer, capacity=1, waitlist_enabled=False)
    later = make_activity(
        app,
        root_officer,
        registration_opens_at=now + timedelta(hours=1),
        registration_closes_at=now + timedelta(hours=2),
    )
    closed = make_activity(
        app,
        root_officer,
        registration_opens_at=now - timedelta(hours=2),
        registration_closes_at=now - timedelta(hours=1),
    )
    first, second = (bound_member(app, client, emu, union.group_a)[1] for _ in range(2))
    assert _reg(client, first, full).status_code == 201
    assert _reg(client, second, full).get_json()["error"] == "activity_full"
    assert _reg(client, second, later).get_json()["error"] == "registration_not_open"
    assert _reg(client, second, closed).get_json()["error"] == "registration_closed"
    from backend.activities import operations
    from backend.db import unit_of_work
    from backend.staff.models import Staff

    with app.app_context(), unit_of_work():
        operations.cancel_activity(
            db.session.get(Activity, full), staff=db.session.get(Staff, root_officer), reason=""
        )
    answer = _reg(client, second, full)
    assert answer.status_code == 409 and answer.get_json()["error"] == "activity_cancelled"
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(Notification.title.startswith("活动取消")))
            == 1
        )


def test_answers_are_checked_against_the_form_fields(app, client, emu, union, root_officer):
    fields = [
        {"key": "size", "label": "T恤尺码", "type": "choice", "required": True, "choices": ["M", "L"]},
        {"key": "age", "label": "孩子年龄", "type": "number", "required": False},
    ]
    activity_id = make_activity(app, root_officer, form_fields=fields)
    _, token = bound_member(app, client, emu, union.group_a)
    bad = _reg(client, token, activity_id, answers={"size": "XXL", "age": "三", "x": 1})
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {
        "answers.size",
        "answers.age",
        "answers.x",
    }
    assert _reg(client, token, activity_id, answers={}).get_json()["errors"] == {"answers.size": ["此项必填"]}
    good = _reg(client, token, activity_id, answers={"size": "L", "age": 7})
    assert good.status_code == 201 and good.get_json()["answers"] == {"size": "L", "age": 7}
    changed = client.patch(
        f"/api/v1/activities/{activity_id}/registration", json={"answers": {"size": "M"}}, headers=auth(token)
    )
    assert changed.status_code == 200 and changed.get_json()["answers"] == {"size": "M"}


def test_another_groups_activity_is_absent_404_and_refused(app, client, emu, union, root_officer):
    theirs = make_activity(app, root_officer, whole_union=False, group_ids=[union.branch_b])
    ours = make_activity(app, root_officer, whole_union=False, group_ids=[union.branch_a])
    _, token = bound_member(app, client, emu, union.group_a)
    listed = client.get("/api/v1/activities", headers=auth(token)).get_json()
    assert [item["id"] for item in listed["items"]] == [ours] and listed["total"] == 1
    assert client.get(f"/api/v1/activities/{theirs}", headers=auth(token)).status_code == 404
    assert _reg(client, token, theirs).status_code == 404
    assert client.get("/api/v1/activities/999999", headers=auth(token)).status_code == 404


def test_an_unbound_caller_browses_nothing_and_may_not_sign_up(app, client, emu, union, root_officer):
    activity_id = make_activity(app, root_officer)
    token = api_login(client, emu, "openid-nobody")
    assert client.get("/api/v1/activities", headers=auth(token)).get_json()["total"] == 0
    answer = _reg(client, token, activity_id)
    assert answer.status_code == 403 and answer.get_json()["error"] == "member_not_active"


def test_cancel_deadline(app, client, emu, union, root_officer):
    now = utcnow()
    activity_id = make_activity(app, root_officer, cancel_deadline=now + timedelta(hours=1))
    _, token = bound_member(app, client, emu, union.group_a)
    _reg(client, token, activity_id)
    with app.app_context():
        from backend.activities import signup
        from backend.activities.errors import CancelDeadlinePassed
        from backend.members.models import Member

        member = db.session.scalar(sa.select(Member).join(Registration, Registration.member_id == Member.id))
        try:
            signup.cancel(activity_id, member, now=now + timedelta(hours=2))
        except CancelDeadlinePassed:
            pass
        else:  # pragma: no cover
            raise AssertionError("cancelled after the deadline")
        db.session.rollback()


def test_checkin_token_registration_and_window(app, client, emu, union, root_officer):
    now = utcnow()
    soon = make_activity(
        app,
        root_officer,
        starts_at=now + timedelta(minutes=30),
        ends_at=now + timedelta(hours=2),
        registration_closes_at=now + timedelta(minutes=20),
    )
    far = make_activity(app, root_officer)
    _, token = bound_member(app, client, emu, union.group_a)
    _, stranger = bound_member(app, client, emu, union.group_a)
    _reg(client, token, soon)
    _reg(client, token, far)

    def scan(who, activity_id, scene):
        return client.post(
            f"/api/v1/activities/{activity_id}/checkin", json={"token": scene}, headers=auth(who)
        )

    good = _token(app, soon)
    assert len(good) <= 32
    assert scan(token, soon, _token(app, far)).get_json()["error"] == "invalid_checkin_token"
    assert scan(token, soon, good[:-1] + ("0" if good[-1] != "0" else "1")).status_code == 400
    assert scan(stranger, soon, good).get_json()["error"] == "not_registered"
    assert scan(token, far, _token(app, far)).get_json()["error"] == "checkin_not_open"
    first = scan(token, soon, good)
    assert first.status_code == 200 and first.get_json()["status"] == "attended"
    second = scan(token, soon, good)
    assert (
        second.status_code == 200 and second.get_json()["checked_in_at"] == first.get_json()["checked_in_at"]
    )


def test_the_list_takes_the_same_number_of_queries_for_any_page_size(
    app, client, emu, union, root_officer, statements
):
    ids = [make_activity(app, root_officer, capacity=1) for _ in range(6)]
    _, token = bound_member(app, client, emu, union.group_a)
    _, other = bound_member(app, client, emu, union.group_a)
    for activity_id in ids:
        _reg(client, other, activity_id)
        _reg(client, token, activity_id)  # waitlisted
    counts = []
    for size in (1, 6):
        statements.clear()
        page = client.get(f"/api/v1/activities?page_size={size}&scope=open", headers=auth(token)).get_json()
        assert len(page["items"]) == size
        assert all(
            i["my_registration"]["status"] == "waitlisted" and i["waitlist_count"] == 1 for i in page["items"]
        )
        counts.append(len(statements))
    assert counts[0] == counts[1]
    mine = client.get("/api/v1/activities?scope=mine&category=sports_culture", headers=auth(token)).get_json()
    assert mine["total"] == 6


def test_lottery_applied_then_drawn(app, client, emu, union, root_officer):
    activity_id = make_activity(app, root_officer, capacity=2, allocation=Allocation.lottery)
    tokens = [bound_member(app, client, emu, union.group_a)[1] for _ in range(4)]
    assert {_reg(client, t, activity_id).get_json()["status"] for t in tokens} == {"applied"}
    from backend.activities.draw import draw, draw_order, draw_seed
    from backend.db import unit_of_work

    with app.app_context():
        closes = db.session.get(Activity, activity_id).registration_closes_at
        with unit_of_work():
            assert draw(activity_id, now=closes + timedelta(seconds=1)) is True
        with unit_of_work():
            assert draw(activity_id, now=closes + timedelta(seconds=2)) is False
        ids = sorted(db.session.scalars(sa.select(Registration.id)))
        order = draw_order(draw_seed(activity_id, closes, ids), ids)
        statuses = dict(db.session.execute(sa.select(Registration.id, Registration.status)).tuples().all())
    assert [statuses[i].value for i in order] == ["registered", "registered", "waitlisted", "waitlisted"]
    detail = client.get(f"/api/v1/activities/{activity_id}", headers=auth(tokens[0])).get_json()
    assert detail["draw"]["applicants"] == 4 and detail["draw"]["winners"] == 2
    assert detail["draw"]["seed"] == draw_seed(activity_id, closes, ids)


def test_export_and_account_deletion_keep_past_registrations_anonymised(
    app, client, emu, union, root_officer
):
    from backend.activities import signup
    from backend.db import unit_of_work
    from backend.members.models import Member

    now = utcnow()
    past = make_activity(
        app, root_officer, starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=2, hours=-3),
        registration_opens_at=now - timedelta(days=5), registration_closes_at=now - timedelta(days=3),
        form_fields=[{"key": "size", "label": "尺码", "type": "text"}],
    )  # fmt: skip
    coming = make_activity(app, root_officer, capacity=1)
    member_id, token = bound_member(app, client, emu, union.group_a)
    _, waiting = bound_member(app, client, emu, union.group_a)
    with app.app_context(), unit_of_work():
        signup.register(
            past, db.session.get(Member, member_id), answers={"size": "L"}, now=now - timedelta(days=4)
        )
    _reg(client, token, coming)
    _reg(client, waiting, coming)
    exported = client.get("/api/v1/me/export", headers=auth(token)).get_json()
    assert {r["activity_id"] for r in exported["activity_registrations"]} == {past, coming}
    assert client.delete("/api/v1/me", headers=auth(token)).status_code == 204
    with app.app_context():
        rows = db.session.execute(
            sa.select(Registration.activity_id, Registration.member_id, Registration.answers)
        ).all()
    assert (past, None, {}) in [tuple(r) for r in rows]
    assert [r for r in rows if r.activity_id == coming and r.member_id is None] == []
    mine = client.get(f"/api/v1/activities/{coming}", headers=auth(waiting)).get_json()["my_registration"]
    assert mine["status"] == "registered"  # the freed seat went to the waitlist
