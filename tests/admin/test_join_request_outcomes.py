"""入会审核 after the decision (issue 12): the worker is told, decided requests stay as history, and a
phone the worker did not give reads 未提供."""

from __future__ import annotations

import sqlalchemy as sa

from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Group, JoinRequest, WechatAccount
from backend.members.operations import reject_join_request
from backend.notifications.models import DeliveryState, Notification
from backend.notifications.operations import add_credits
from backend.staff.models import Role, Staff
from tests.admin.conftest import file_join_request, html, post
from tests.factories import api_login, auth, get

SYSTEM_TEMPLATE = {
    "template_id": "tmpl_test_system",
    "page": "pages/me/index",
    "fields": {"thing1": "title", "phrase2": "status", "time3": "updated_at", "thing4": "note"},
}


def approve(client, request_id, group_id, comment=""):
    data = {"approve-group_id": group_id, "approve-comment": comment}
    return post(client, f"/admin/join-requests/{request_id}/approve", data)


def reject(client, request_id, reason):
    return post(client, f"/admin/join-requests/{request_id}/reject", {"reject-comment": reason})


def messages(client, emu, openid):
    token = api_login(client, emu, openid)
    return client.get("/api/v1/me/messages", headers=auth(token)).get_json()["items"]


def test_an_approved_worker_finds_a_message_in_their_inbox(app, client, emu, union, login_as):
    request_id = file_join_request(app, client, emu, union.group_a)
    staff = app.test_client()
    login_as(Role.officer, union.branch_a, on=staff)
    assert approve(staff, request_id, union.group_a, comment="周五来领会员证").status_code == 302
    [message] = messages(client, emu, "openid-NEW001")
    assert message["kind"] == "system" and message["title"] == "入会申请已通过"
    assert (
        message["body"].startswith("您的入会申请已通过，欢迎加入工会") and "周五来领会员证" in message["body"]
    )
    with app.app_context():
        notification = db.session.scalar(sa.select(Notification))
        assert notification.dedupe_key == f"join_request:{request_id}:decided"
        # The demo set has no subscribe template for kind "system": the inbox alone, said so in the ledger.
        assert (
            notification.wechat_state == DeliveryState.skipped
            and notification.last_error_code == "no_template"
        )


def request_with_system_credit(app, client, emu, union, monkeypatch) -> int:
    """A join request from a worker who accepted the (configured) "system" subscribe template once."""
    monkeypatch.setitem(app.config["WECHAT_TEMPLATES"], "system", SYSTEM_TEMPLATE)
    emu.add_template(SYSTEM_TEMPLATE["template_id"], list(SYSTEM_TEMPLATE["fields"]))
    request_id = file_join_request(app, client, emu, union.group_a)
    emu.grant("openid-NEW001", SYSTEM_TEMPLATE["template_id"])
    with app.app_context(), unit_of_work():
        account = db.session.scalar(sa.select(WechatAccount).where(WechatAccount.openid == "openid-NEW001"))
        add_credits(account, SYSTEM_TEMPLATE["template_id"], 1)
    return request_id


def the_one_system_push(app, emu) -> dict[str, str]:
    sends = [s for s in emu.stats()["sends"] if s["template_id"] == SYSTEM_TEMPLATE["template_id"]]
    assert len(sends) == 1 and sends[0]["openid"] == "openid-NEW001"
    with app.app_context():
        assert db.session.scalar(sa.select(Notification.wechat_state)) == DeliveryState.sent
    return sends[0]["data"]


def test_with_a_system_template_and_credit_the_approval_also_goes_by_wechat(
    app, client, emu, union, login_as, monkeypatch
):
    request_id = request_with_system_credit(app, client, emu, union, monkeypatch)
    login_as(Role.officer, union.branch_a)
    assert approve(client, request_id, union.group_a).status_code == 302
    data = the_one_system_push(app, emu)
    assert data["thing1"] == "入会申请已通过" and data["phrase2"] == "已通过"


def test_a_rejected_worker_reads_the_reason_in_the_app(app, client, emu, union, login_as):
    request_id = file_join_request(app, client, emu, union.group_a)
    staff = app.test_client()
    login_as(Role.officer, union.branch_a, on=staff)
    assert reject(staff, request_id, "工号与人事系统不符").status_code == 302
    token = api_login(client, emu, "openid-NEW001")
    me = client.get("/api/v1/me", headers=auth(token)).get_json()
    assert me["status"] == "rejected" and me["join_request"]["comment"] == "工号与人事系统不符"
    assert me["unread_messages"] == 1


def test_a_rejected_worker_finds_the_reason_in_their_inbox(app, client, emu, union, login_as):
    """Issue 12, point 10: the rejected applicant is never a roster member; the message goes to the
    WeChat account that asked, and only that account's inbox shows it."""
    request_id = file_join_request(app, client, emu, union.group_a)
    staff = app.test_client()
    login_as(Role.officer, union.branch_a, on=staff)
    assert reject(staff, request_id, "工号与人事系统不符").status_code == 302
    [message] = messages(client, emu, "openid-NEW001")
    assert message["kind"] == "system" and message["title"] == "入会申请未通过"
    assert "原因：工号与人事系统不符" in message["body"] and message["read_at"] is None
    with app.app_context():
        notification = db.session.scalar(sa.select(Notification))
        assert (
            notification.member_id is None and notification.dedupe_key == f"join_request:{request_id}:decided"
        )
        assert notification.wechat_state == DeliveryState.skipped  # no "system" template in the demo set
    # Someone else's inbox neither lists it nor may mark it.
    assert messages(client, emu, "openid-STRANGER") == []
    stranger = api_login(client, emu, "openid-STRANGER")
    assert client.post(f"/api/v1/me/messages/{message['id']}/read", headers=auth(stranger)).status_code == 404
    token = api_login(client, emu, "openid-NEW001")
    assert client.post(f"/api/v1/me/messages/{message['id']}/read", headers=auth(token)).status_code == 204
    assert client.get("/api/v1/me", headers=auth(token)).get_json()["unread_messages"] == 0
    exported = client.get("/api/v1/me/export", headers=auth(token)).get_json()
    assert [n["title"] for n in exported["notifications"]] == ["入会申请未通过"]
    assert client.delete("/api/v1/me", headers=auth(token)).status_code == 204
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


def test_with_a_system_template_and_credit_the_rejection_also_goes_by_wechat(
    app, client, emu, union, login_as, monkeypatch
):
    request_id = request_with_system_credit(app, client, emu, union, monkeypatch)
    login_as(Role.officer, union.branch_a)
    assert reject(client, request_id, "工号与人事系统不符").status_code == 302
    data = the_one_system_push(app, emu)
    assert data["thing1"] == "入会申请未通过" and data["phrase2"] == "未通过"


def test_after_a_rejection_and_a_second_approved_request_the_inbox_holds_both(
    app, client, emu, union, login_as
):
    first = file_join_request(app, client, emu, union.group_a)
    staff = app.test_client()
    login_as(Role.officer, union.branch_a, on=staff)
    reject(staff, first, "请填写正确的工号")
    token = api_login(client, emu, "openid-NEW001")
    again = {"name": "申请人", "employee_no": "NEW001", "group_id": union.group_a}
    assert (
        client.post("/api/v1/me/binding", json=again, headers=auth(token)).get_json()["status"] == "pending"
    )
    with app.app_context():
        second = db.session.scalar(sa.select(JoinRequest.id).where(JoinRequest.status == "pending"))
    assert approve(staff, second, union.group_a).status_code == 302
    titles = [m["title"] for m in messages(client, emu, "openid-NEW001")]
    assert titles == ["入会申请已通过", "入会申请未通过"]


def test_decided_requests_stay_as_history_newest_first(app, client, emu, union, login_as):
    first = file_join_request(app, client, emu, union.group_a, employee_no="NEW001")
    second = file_join_request(app, client, emu, union.group_a, employee_no="NEW002")
    waiting = file_join_request(app, client, emu, union.group_a, employee_no="NEW003")
    other_branch = file_join_request(app, client, emu, union.group_b, employee_no="NEW004")
    officer = app.test_client()
    officer_id = login_as(Role.officer, union.branch_a, on=officer)
    approve(officer, first, union.group_a, comment="欢迎")
    reject(officer, second, "不是本公司职工")
    pending = html(officer.get("/admin/join-requests/"))
    assert "NEW003" in pending and "NEW001" not in pending and "待审核（1）" in pending
    assert 'href="/admin/join-requests/history"' in pending

    history = html(officer.get("/admin/join-requests/history"))
    body = history.split("<tbody>")[1]
    assert body.index("NEW002") < body.index("NEW001")  # newest decision first
    assert "NEW003" not in body and "NEW004" not in body  # waiting, and another branch's
    assert "已通过" in body and "未通过" in body and "不是本公司职工" in body and "欢迎" in body
    assert "测试公司工会 / 甲分会 / 甲一组" in body
    assert body.count(get(app, Staff, officer_id).display_name) == 2  # who decided, on each row
    review = html(officer.get(f"/admin/join-requests/{second}"))
    assert "这份申请已经处理过了" in review and get(app, Staff, officer_id).display_name in review
    assert get(app, JoinRequest, waiting).decided_at is None and other_branch


def test_history_is_paginated(app, client, union, login_as):
    officer_id = login_as(Role.officer, union.branch_a)
    with app.app_context(), unit_of_work():
        officer, group = db.session.get(Staff, officer_id), db.session.get(Group, union.group_a)
        for n in range(52):
            account = WechatAccount(openid=f"openid-H{n:03d}")
            request = JoinRequest(wechat_account=account, name="申请人", employee_no=f"H{n:03d}", group=group)
            db.session.add(request)
            db.session.flush()
            reject_join_request(request, staff=officer, comment="重复申请")
    first = html(client.get("/admin/join-requests/history"))
    assert "共 52 条" in first and "H051" in first and "H001" not in first
    second = html(client.get("/admin/join-requests/history?page=2"))
    assert "H001" in second and "H000" in second and "H051" not in second


def test_a_phone_not_given_reads_not_provided(app, client, emu, union, login_as):
    request_id = file_join_request(app, client, emu, union.group_a)
    login_as(Role.officer, union.branch_a)
    for page in ("/admin/join-requests/", f"/admin/join-requests/{request_id}"):
        body = html(client.get(page))
        assert "未提供" in body and "未授权" not in body, page
