"""GET /api/v1/announcements and /announcements/{id}: who sees what, read flags, first reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from backend.announcements.models import AnnouncementRecipient
from backend.extensions import db
from tests.factories import act, api_login, auth, bound_member, count, make_announcement

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def _titles(client, token, **query):
    response = client.get("/api/v1/announcements", headers=auth(token), query_string=query)
    assert response.status_code == 200, response.get_json()
    return [item["title"] for item in response.get_json()["items"]]


def test_member_sees_whole_union_own_group_and_groups_above_only(app, client, emu, union, root_officer):
    _, token = bound_member(app, client, emu, union.group_a)
    for title, kwargs in [
        ("全体", {"whole_union": True}),
        ("甲分会", {"group_ids": [union.branch_a]}),
        ("甲一组", {"group_ids": [union.group_a]}),
        ("乙分会", {"group_ids": [union.branch_b]}),
        ("乙一组", {"group_ids": [union.group_b]}),
        ("草稿", {"group_ids": [union.group_a], "publish": False}),
        ("定时", {"group_ids": [union.group_a], "publish_at": datetime.now(UTC) + timedelta(days=1)}),
    ]:
        make_announcement(app, root_officer, title=title, **kwargs)
    withdrawn = make_announcement(app, root_officer, title="已撤回", group_ids=[union.group_a])
    act(app, withdrawn, "withdraw", root_officer)

    assert sorted(_titles(client, token)) == sorted(["全体", "甲分会", "甲一组"])


def test_a_branch_member_does_not_see_announcements_to_groups_below_the_branch(
    app, client, emu, union, root_officer
):
    _, token = bound_member(app, client, emu, union.branch_a)
    child_only = make_announcement(app, root_officer, title="甲一组", group_ids=[union.group_a])
    make_announcement(app, root_officer, title="甲分会", group_ids=[union.branch_a])

    assert _titles(client, token) == ["甲分会"]
    assert client.get(f"/api/v1/announcements/{child_only}", headers=auth(token)).status_code == 404


def test_another_groups_announcement_is_404_exactly_like_a_missing_one(app, client, emu, union, root_officer):
    _, token = bound_member(app, client, emu, union.group_a)
    other = make_announcement(app, root_officer, group_ids=[union.group_b])
    other_branch = make_announcement(app, root_officer, group_ids=[union.branch_b])

    missing = client.get("/api/v1/announcements/999999", headers=auth(token))
    for announcement_id in (other, other_branch):
        response = client.get(f"/api/v1/announcements/{announcement_id}", headers=auth(token))
        assert response.status_code == 404
        assert response.get_json() == missing.get_json()
    assert count(app, AnnouncementRecipient) == 0  # and no read was recorded


def test_drafts_and_scheduled_are_404(app, client, emu, union, root_officer):
    _, token = bound_member(app, client, emu, union.group_a)
    draft = make_announcement(app, root_officer, group_ids=[union.group_a], publish=False)
    scheduled = make_announcement(
        app, root_officer, group_ids=[union.group_a], publish_at=datetime.now(UTC) + timedelta(days=1)
    )
    for announcement_id in (draft, scheduled):
        assert client.get(f"/api/v1/announcements/{announcement_id}", headers=auth(token)).status_code == 404


def test_withdrawn_is_410_for_its_audience_and_404_for_others(app, client, emu, union, root_officer):
    _, token_a = bound_member(app, client, emu, union.group_a)
    _, token_b = bound_member(app, client, emu, union.group_b)
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a])
    act(app, announcement_id, "withdraw", root_officer)

    gone = client.get(f"/api/v1/announcements/{announcement_id}", headers=auth(token_a))
    assert gone.status_code == 410
    assert gone.get_json()["error"] == "announcement_withdrawn" and "撤回" in gone.get_json()["message"]
    assert client.get(f"/api/v1/announcements/{announcement_id}", headers=auth(token_b)).status_code == 404


def test_detail_returns_sanitised_body_and_records_the_first_read(app, client, emu, union, root_officer):
    member_id, token = bound_member(app, client, emu, union.group_a)
    announcement_id = make_announcement(
        app,
        root_officer,
        group_ids=[union.group_a],
        title="厂务公开",
        category="factory_affairs",
        body_html='<p>内容<img src="x" onerror="alert(1)"></p><script>alert(2)</script>',
    )
    assert [item["read"] for item in client.get("/api/v1/announcements", headers=auth(token)).get_json()[
        "items"
    ]] == [False]  # fmt: skip

    response = client.get(f"/api/v1/announcements/{announcement_id}", headers=auth(token))
    assert response.status_code == 200
    body = response.get_json()
    assert body["body_html"] == "<p>内容<img></p>"
    assert body["attachments"] == []
    assert body["category"] == "factory_affairs" and body["read"] is True
    assert body["published_at"].endswith("+08:00")
    assert set(body) == {
        "id", "title", "summary", "category", "pinned", "published_at", "read", "body_html", "attachments",
    }  # fmt: skip

    with app.app_context():
        first = db.session.scalar(
            sa.select(AnnouncementRecipient.read_at).where(AnnouncementRecipient.member_id == member_id)
        )
    client.get(f"/api/v1/announcements/{announcement_id}", headers=auth(token))
    with app.app_context():
        again = db.session.scalar(
            sa.select(AnnouncementRecipient.read_at).where(AnnouncementRecipient.member_id == member_id)
        )
    assert first is not None and again == first
    assert client.get("/api/v1/announcements", headers=auth(token)).get_json()["items"][0]["read"] is True


def test_list_items_pinned_first_then_newest(app, client, emu, union, root_officer):
    _, token = bound_member(app, client, emu, union.group_a)
    make_announcement(app, root_officer, title="旧", whole_union=True, now=T0)
    make_announcement(
        app, root_officer, title="置顶旧", whole_union=True, pinned=True, now=T0 - timedelta(days=9)
    )
    make_announcement(app, root_officer, title="新", whole_union=True, now=T0 + timedelta(days=1))

    response = client.get("/api/v1/announcements", headers=auth(token))
    items = response.get_json()["items"]
    assert [i["title"] for i in items] == ["置顶旧", "新", "旧"]
    assert set(items[0]) == {"id", "title", "summary", "category", "pinned", "published_at", "read"}
    assert items[0]["pinned"] is True


def test_category_filter_and_pagination(app, client, emu, union, root_officer):
    _, token = bound_member(app, client, emu, union.group_a)
    for n in range(3):
        make_announcement(app, root_officer, title=f"公示{n}", category="publicity", whole_union=True)
    make_announcement(app, root_officer, title="通知", category="notice", whole_union=True)

    response = client.get(
        "/api/v1/announcements",
        headers=auth(token),
        query_string={"category": "publicity", "page": 2, "page_size": 2},
    )
    body = response.get_json()
    assert (body["page"], body["page_size"], body["total"]) == (2, 2, 3)
    assert len(body["items"]) == 1 and body["items"][0]["category"] == "publicity"


@pytest.mark.parametrize("query", [{"category": "gossip"}, {"page_size": 101}, {"page": 0}])
def test_invalid_query_is_422(app, client, emu, union, query):
    token = api_login(client, emu, "wx-anyone")
    response = client.get("/api/v1/announcements", headers=auth(token), query_string=query)
    assert response.status_code == 422
    assert response.get_json()["error"] == "validation_error"


def _sees_nothing(client, token, *announcement_ids):
    assert _titles(client, token) == []
    for announcement_id in announcement_ids:
        response = client.get(f"/api/v1/announcements/{announcement_id}", headers=auth(token))
        assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_an_unbound_account_sees_no_announcements_not_even_whole_union_ones(
    app, client, emu, union, root_officer
):
    token = api_login(client, emu, "wx-stranger")
    public = make_announcement(app, root_officer, title="全体", whole_union=True)
    group = make_announcement(app, root_officer, title="甲一组", group_ids=[union.group_a])
    withdrawn = make_announcement(app, root_officer, title="已撤回", whole_union=True)
    act(app, withdrawn, "withdraw", root_officer)

    _sees_nothing(client, token, public, group, withdrawn)  # withdrawn: 404, it was never theirs to read
    assert count(app, AnnouncementRecipient) == 0


def test_a_pending_member_sees_no_announcements(app, client, emu, union, root_officer):
    token = api_login(client, emu, "wx-applicant")
    response = client.post(
        "/api/v1/me/binding",
        json={"name": "新职工", "employee_no": "N0001", "group_id": union.group_a},
        headers=auth(token),
    )
    assert response.get_json()["status"] == "pending"
    public = make_announcement(app, root_officer, title="全体", whole_union=True)
    group = make_announcement(app, root_officer, title="甲一组", group_ids=[union.group_a])

    _sees_nothing(client, token, public, group)
    assert count(app, AnnouncementRecipient) == 0


def test_login_required(client, union):
    assert client.get("/api/v1/announcements").status_code == 401
    assert client.get("/api/v1/announcements/1").status_code == 401


def _move(app, member_id, group_id):
    from backend.db import unit_of_work
    from backend.members.models import Group, Member
    from backend.members.operations import change_group

    with app.app_context(), unit_of_work():
        change_group(db.session.get(Member, member_id), db.session.get(Group, group_id), staff=None)


def test_after_a_transfer_a_member_keeps_what_they_were_sent_but_not_the_old_groups_new_ones(
    app, client, emu, union, root_officer
):
    member_id, token = bound_member(app, client, emu, union.group_b)
    sent = make_announcement(app, root_officer, title="调动前", group_ids=[union.group_b])
    _move(app, member_id, union.group_a)
    make_announcement(app, root_officer, title="调动后的乙组公告", group_ids=[union.group_b])
    make_announcement(app, root_officer, title="甲组公告", group_ids=[union.group_a])

    assert sorted(_titles(client, token)) == sorted(["调动前", "甲组公告"])
    assert client.get(f"/api/v1/announcements/{sent}", headers=auth(token)).status_code == 200


def test_a_member_who_left_sees_no_announcements(app, client, emu, union, root_officer):
    from backend.db import unit_of_work
    from backend.members.models import Member, MemberStatus
    from backend.members.operations import set_member_status

    member_id, _ = bound_member(app, client, emu, union.group_a, openid="wx-leaver")
    group = make_announcement(app, root_officer, title="甲一组", group_ids=[union.group_a])
    public = make_announcement(app, root_officer, title="全体", whole_union=True)
    with app.app_context(), unit_of_work():
        set_member_status(db.session.get(Member, member_id), MemberStatus.left, staff=None)
    token = api_login(client, emu, "wx-leaver")

    _sees_nothing(client, token, group, public)  # even the one they were sent while a member
