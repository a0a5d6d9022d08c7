"""The inbox API: GET /me/messages, POST /me/messages/{id}/read, POST /me/messages/read-all, /me counts."""

from __future__ import annotations

from backend.staff.models import Role
from tests.factories import (
    act,
    api_login,
    auth,
    bound_member,
    make_announcement,
    make_staff,
    make_union,
    send_notice,
)


def test_messages_are_the_callers_own_newest_first(app, client, emu):
    union = make_union(app)
    member_id, token = bound_member(app, client, emu, union.group_a)
    other_id, _ = bound_member(app, client, emu, union.group_a)
    first = send_notice(app, member_id, key="a", title="第一条")
    second = send_notice(app, member_id, key="b", title="第二条", link=None)
    send_notice(app, other_id, key="c", title="别人的")

    body = client.get("/api/v1/me/messages", headers=auth(token)).get_json()
    assert body["total"] == 2 and body["page"] == 1 and body["page_size"] == 20
    assert [m["id"] for m in body["items"]] == [second, first]
    item = body["items"][1]
    assert set(item) == {"id", "kind", "title", "body", "link", "created_at", "read_at", "withdrawn"}
    assert item["kind"] == "announcement" and item["read_at"] is None and item["withdrawn"] is False
    assert item["created_at"].endswith("+08:00")

    page = client.get("/api/v1/me/messages?page=2&page_size=1", headers=auth(token)).get_json()
    assert [m["id"] for m in page["items"]] == [first]
    assert client.get("/api/v1/me/messages?page_size=101", headers=auth(token)).status_code == 422


def test_read_one_and_all_and_me_counts_unread(app, client, emu):
    union = make_union(app)
    member_id, token = bound_member(app, client, emu, union.group_a)
    ids = [send_notice(app, member_id, key=f"k{n}") for n in range(3)]
    assert client.get("/api/v1/me", headers=auth(token)).get_json()["unread_messages"] == 3

    assert client.post(f"/api/v1/me/messages/{ids[0]}/read", headers=auth(token)).status_code == 204
    me = client.get("/api/v1/me", headers=auth(token)).get_json()
    assert me["unread_messages"] == 2
    items = client.get("/api/v1/me/messages", headers=auth(token)).get_json()["items"]
    assert next(m for m in items if m["id"] == ids[0])["read_at"].endswith("+08:00")

    assert client.post("/api/v1/me/messages/read-all", headers=auth(token)).status_code == 204
    assert client.get("/api/v1/me", headers=auth(token)).get_json()["unread_messages"] == 0


def test_reading_another_members_message_is_404(app, client, emu):
    union = make_union(app)
    _, token = bound_member(app, client, emu, union.group_a)
    other_id, _ = bound_member(app, client, emu, union.group_a)
    foreign = send_notice(app, other_id, key="theirs")
    response = client.post(f"/api/v1/me/messages/{foreign}/read", headers=auth(token))
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    missing = client.post("/api/v1/me/messages/999999/read", headers=auth(token))
    assert missing.status_code == 404 and missing.get_json() == {**response.get_json()}
    unread = client.get("/api/v1/me/messages", headers=auth(token)).get_json()
    assert unread["total"] == 0


def test_unbound_account_has_an_empty_inbox(app, client, emu):
    token = api_login(client, emu, "wx-unbound")
    body = client.get("/api/v1/me/messages", headers=auth(token)).get_json()
    assert body["items"] == [] and body["total"] == 0
    assert client.post("/api/v1/me/messages/1/read", headers=auth(token)).status_code == 404
    assert client.post("/api/v1/me/messages/read-all", headers=auth(token)).status_code == 204


def test_inbox_needs_a_login(client):
    assert client.get("/api/v1/me/messages").status_code == 401
    assert client.post("/api/v1/me/messages/read-all").status_code == 401


def test_inbox_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/me/messages"]["get"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert "401" in operation["responses"]
    assert "404" in spec["paths"]["/api/v1/me/messages/{message_id}/read"]["post"]["responses"]


def test_a_withdrawn_announcements_message_says_so_and_hides_its_text(app, client, emu):
    union = make_union(app)
    _, token = bound_member(app, client, emu, union.group_a)
    staff = make_staff(app, Role.chair, union.root)
    kept = make_announcement(app, staff, whole_union=True, title="仍然有效", body_html="<p>照常上班。</p>")
    gone = make_announcement(app, staff, whole_union=True, title="发错了", body_html="<p>明天放假。</p>")
    act(app, gone, "withdraw", staff)

    items = {m["link"]: m for m in client.get("/api/v1/me/messages", headers=auth(token)).get_json()["items"]}
    withdrawn = items[f"/pages/announcements/detail?id={gone}"]
    assert withdrawn["withdrawn"] is True and withdrawn["body"] == "该公告已撤回"
    assert "发错了" in withdrawn["title"] and "放假" not in str(withdrawn)
    valid = items[f"/pages/announcements/detail?id={kept}"]
    assert valid["withdrawn"] is False and valid["body"] == "照常上班。"
    # Nothing is left to read in the withdrawn one: the badge counts only the valid message.
    assert client.get("/api/v1/me", headers=auth(token)).get_json()["unread_messages"] == 1
    # The link it carries answers 410 (API.md), so the mini-program can say 已撤回 there too.
    response = client.get(f"/api/v1/announcements/{gone}", headers=auth(token))
    assert response.status_code == 410 and response.get_json()["error"] == "announcement_withdrawn"


def test_the_message_schema_documents_withdrawn(client):
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Message"]["properties"]
    assert schema["withdrawn"]["type"] == "boolean"
    assert schema["body"]["type"] == "string" and "该公告已撤回" in schema["body"]["description"]
