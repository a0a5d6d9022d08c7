"""入会审核: approval puts the applicant on the roster and binds their WeChat; rejection needs a reason."""

from __future__ import annotations

from backend.audit.models import AuditLog
from backend.members.models import JoinRequest, JoinRequestStatus, Member, WechatAccount
from backend.staff.models import Role
from tests.admin.conftest import file_join_request, html, post
from tests.factories import api_login, auth, count, get, make_member


def test_pending_list_shows_request_details(app, client, emu, union, login_as):
    phone_code = emu.phone_code("openid-NEW001", "13512345678")
    file_join_request(app, client, emu, union.group_a, phone_code=phone_code)
    login_as(Role.officer, union.branch_a)
    body = html(client.get("/admin/join-requests/"))
    assert "申请人" in body and "NEW001" in body and "135****5678" in body and "13512345678" not in body
    assert "甲分会 / 甲一组" in body


def test_empty_pending_list(client, union, login_as):
    login_as(Role.officer, union.branch_a)
    assert "目前没有待审核的入会申请" in html(client.get("/admin/join-requests/"))


def test_approve_binds_wechat_and_is_audited(app, client, emu, union, login_as):
    request_id = file_join_request(app, client, emu, union.group_a)
    login_as(Role.officer, union.branch_a)
    page = html(client.get(f"/admin/join-requests/{request_id}"))
    assert f'<option selected value="{union.group_a}">' in page or f'value="{union.group_a}" selected' in page
    response = post(
        client,
        f"/admin/join-requests/{request_id}/approve",
        {"approve-group_id": union.branch_a, "approve-comment": "欢迎"},
    )
    assert response.status_code == 302
    assert "已通过「申请人」的入会申请" in html(client.get(response.headers["Location"]))
    join_request = get(app, JoinRequest, request_id)
    assert join_request.status == JoinRequestStatus.approved and join_request.member_id
    member = get(app, Member, join_request.member_id)
    assert member.group_id == union.branch_a and member.employee_no == "NEW001"
    account = get(app, WechatAccount, join_request.wechat_account_id)
    assert account.member_id == member.id
    assert count(app, AuditLog, AuditLog.action == "join_request.approved") == 1
    token = api_login(client, emu, "openid-NEW001")
    assert client.get("/api/v1/me", headers=auth(token)).get_json()["status"] == "active"


def test_approve_when_employee_no_was_taken_meanwhile_writes_nothing(app, client, emu, union, login_as):
    request_id = file_join_request(app, client, emu, union.group_a)
    make_member(app, union.group_a, employee_no="NEW001")
    login_as(Role.officer, union.branch_a)
    response = post(client, f"/admin/join-requests/{request_id}/approve", {"approve-group_id": union.group_a})
    assert response.status_code == 409 and "工号已存在" in html(response)
    assert get(app, JoinRequest, request_id).status == JoinRequestStatus.pending
    assert count(app, Member) == 1 and count(app, WechatAccount, WechatAccount.member_id.is_not(None)) == 0
    assert count(app, AuditLog, AuditLog.action.like("join_request.%")) == 0


def test_reject_requires_a_reason(app, client, emu, union, login_as):
    request_id = file_join_request(app, client, emu, union.group_a)
    login_as(Role.officer, union.branch_a)
    response = post(client, f"/admin/join-requests/{request_id}/reject", {"reject-comment": "  "})
    assert response.status_code == 422 and "请填写不通过的原因" in html(response)
    assert get(app, JoinRequest, request_id).status == JoinRequestStatus.pending
    response = post(client, f"/admin/join-requests/{request_id}/reject", {"reject-comment": "不是本公司职工"})
    assert response.status_code == 302
    join_request = get(app, JoinRequest, request_id)
    assert join_request.status == JoinRequestStatus.rejected
    assert join_request.decision_comment == "不是本公司职工"
    assert count(app, AuditLog, AuditLog.action == "join_request.rejected") == 1


def test_decided_request_cannot_be_decided_again(app, client, emu, union, login_as):
    request_id = file_join_request(app, client, emu, union.group_a)
    login_as(Role.officer, union.branch_a)
    post(client, f"/admin/join-requests/{request_id}/reject", {"reject-comment": "不行"})
    response = post(client, f"/admin/join-requests/{request_id}/approve", {"approve-group_id": union.group_a})
    assert response.status_code == 409 and "已处理" in html(response)
    assert count(app, Member) == 0


def test_request_without_group_is_for_whole_union_staff(app, client, emu, union, login_as):
    request_id = file_join_request(app, client, emu, None)
    login_as(Role.officer, union.branch_a)
    assert client.get(f"/admin/join-requests/{request_id}").status_code == 404
    other = app.test_client()
    login_as(Role.officer, union.root, on=other)
    assert "申请人" in html(other.get("/admin/join-requests/"))
    assert other.get(f"/admin/join-requests/{request_id}").status_code == 200
