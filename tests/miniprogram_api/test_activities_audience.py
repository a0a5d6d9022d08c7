"""A member who left an activity's audience (转会) after signing up: they still see the activity and
their registration, but signing up again is 403 not_in_audience; an activity they never signed up for
stays 404 (API.md: Activities)."""

from __future__ import annotations

from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Group, Member
from backend.members.operations import change_group
from tests.factories import auth, bound_member, make_activity


def _move(app, member_id, group_id):
    with app.app_context(), unit_of_work():
        change_group(db.session.get(Member, member_id), db.session.get(Group, group_id), staff=None)


def _url(activity_id):
    return f"/api/v1/activities/{activity_id}/registration"


def test_a_moved_member_sees_their_registration_but_may_not_sign_up_again(
    app, client, emu, union, root_officer
):
    ours = make_activity(app, root_officer, whole_union=False, group_ids=[union.branch_a])
    never = make_activity(app, root_officer, whole_union=False, group_ids=[union.branch_a])
    member_id, token = bound_member(app, client, emu, union.group_a)
    first = client.post(_url(ours), json={}, headers=auth(token))
    assert first.status_code == 201
    _move(app, member_id, union.group_b)
    # still registered: the activity and the registration are shown, a repeated tap answers it
    detail = client.get(f"/api/v1/activities/{ours}", headers=auth(token))
    assert detail.status_code == 200 and detail.get_json()["my_registration"]["id"] == first.get_json()["id"]
    assert client.post(_url(ours), json={}, headers=auth(token)).status_code == 200
    # cancelled: still shown with the cancelled registration; signing up again is refused
    assert client.delete(_url(ours), headers=auth(token)).status_code == 204
    detail = client.get(f"/api/v1/activities/{ours}", headers=auth(token))
    assert detail.status_code == 200 and detail.get_json()["my_registration"]["status"] == "cancelled"
    again = client.post(_url(ours), json={}, headers=auth(token))
    assert again.status_code == 403 and again.get_json()["error"] == "not_in_audience", again.get_json()
    # never signed up, not in the audience: absent and 404
    listed = client.get("/api/v1/activities", headers=auth(token)).get_json()
    assert never not in [item["id"] for item in listed["items"]]
    assert client.get(f"/api/v1/activities/{never}", headers=auth(token)).status_code == 404
    assert client.post(_url(never), json={}, headers=auth(token)).status_code == 404


def test_back_in_the_audience_a_cancelled_member_signs_up_again(app, client, emu, union, root_officer):
    activity_id = make_activity(app, root_officer, whole_union=False, group_ids=[union.branch_a])
    _, token = bound_member(app, client, emu, union.group_a)
    assert client.post(_url(activity_id), json={}, headers=auth(token)).status_code == 201
    assert client.delete(_url(activity_id), headers=auth(token)).status_code == 204
    again = client.post(_url(activity_id), json={}, headers=auth(token))
    assert again.status_code == 201 and again.get_json()["status"] == "registered"
