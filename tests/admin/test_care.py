"""关怀慰问 pages: the policy check with its override on the visit form, scope (branch B sees nothing of
branch A: 404), campaigns (run twice, one visit each; over the cap left out), the queue, figures, ledger."""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO

import openpyxl
import pytest
import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.care.models import CareCampaign, CareCategory, CareRequest, CareVisit, ContentState, VisitStatus
from backend.care.requests import submit_request
from backend.db import today, unit_of_work
from backend.extensions import db
from backend.members.models import Member
from backend.notifications.models import Notification
from backend.staff.models import Role
from tests.admin.conftest import html, post
from tests.care_helpers import YEAR, policy, visit
from tests.factories import count, get, make_member, make_staff


def _visit_form(**overrides):
    data = {
        "category": "birthday",
        "visited_on": f"{YEAR}-06-01",
        "visitors": "李华",
        "gift": "生日蛋糕",
        "amount": "200",
        "notes": "",
        "override_reason": "",
    }
    data.update(overrides)
    return data


def _request(app, member_id, description="住院治疗", state=ContentState.passed):
    with app.app_context(), unit_of_work():
        request = submit_request(
            member=db.session.get(Member, member_id),
            category=CareCategory.hospitalization,
            description=description,
            occurred_on=date(YEAR, 5, 1),
        )
        if state is not None:
            request.content_state = state
        return request.id


def test_every_care_page_renders_for_an_officer(app, client, union, login_as):
    policy(app)
    staff = login_as(Role.admin, union.root)
    member = make_member(app, union.group_a, birthday=date(1980, 1, 1))
    visit_id = visit(app, staff, member)
    request_id = _request(app, member)
    pages = [
        "/admin/",
        "/admin/care/visits",
        "/admin/care/visits?unconfirmed=1&category=birthday",
        f"/admin/care/visits/{visit_id}",
        f"/admin/care/visits/new?member_id={member}",
        "/admin/care/requests",
        "/admin/care/requests?tab=all",
        f"/admin/care/requests/{request_id}",
        "/admin/care/campaigns",
        "/admin/care/campaigns/new",
        f"/admin/care/policy?year={YEAR}",
        f"/admin/care/policy/edit?year={YEAR}&category=birthday",
        f"/admin/care/policy/year?year={YEAR}",
        f"/admin/care/figures?year={YEAR}",
        f"/admin/members/{member}",
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, (page, html(response)[:300])
    assert "关怀待办" in html(client.get("/admin/"))


def test_the_form_shows_the_broken_rules_and_an_override_records_the_visit(app, client, union, login_as):
    policy(app)
    staff = login_as(Role.officer, union.root)
    member = make_member(app, union.group_a)
    url = f"/admin/care/visits/new?member_id={member}"
    refused = post(client, url, _visit_form(amount="400", is_cash="y"))
    assert refused.status_code == 409
    page = html(refused)
    assert "金额超过最高标准" in page and "不得发放现金" in page
    assert count(app, CareVisit) == 0
    saved = post(client, url, _visit_form(amount="400", override_reason="经工会委员会研究同意"))
    assert saved.status_code == 302
    visit_id = int(saved.headers["Location"].rsplit("/", 1)[1])
    detail = html(client.get(f"/admin/care/visits/{visit_id}"))
    assert "例外登记" in detail and "经工会委员会研究同意" in detail and "超过最高金额" in detail
    assert get(app, CareVisit, visit_id).override_by_id == staff


def test_branch_b_staff_neither_see_nor_record_for_branch_a(app, client, union, login_as):
    policy(app)
    officer_a = make_staff(app, Role.officer, union.branch_a)
    member = make_member(app, union.group_a)
    visit_id = visit(app, officer_a, member)
    request_id = _request(app, member)
    login_as(Role.officer, union.branch_b)
    for page in (
        f"/admin/care/visits/{visit_id}",
        f"/admin/care/requests/{request_id}",
        f"/admin/care/visits/new?member_id={member}",
    ):
        assert client.get(page).status_code == 404, page
    assert post(client, f"/admin/care/visits/new?member_id={member}", _visit_form()).status_code == 404
    assert post(client, f"/admin/care/requests/{request_id}/close", {"c-reason": "x"}).status_code == 404
    assert "目前没有待办的关怀申请" in html(client.get("/admin/care/requests"))
    assert count(app, CareVisit) == 1


def test_group_leader_records_in_own_group_only(app, client, union, login_as):
    policy(app)
    login_as(Role.group_leader, union.group_a)
    own, other = make_member(app, union.group_a), make_member(app, union.group_b)
    assert post(client, f"/admin/care/visits/new?member_id={own}", _visit_form()).status_code == 302
    assert post(client, f"/admin/care/visits/new?member_id={other}", _visit_form()).status_code == 404
    assert client.get("/admin/care/requests").status_code == 403
    # no override for a group leader: refused with the reasons, nothing written
    assert (
        post(
            client, f"/admin/care/visits/new?member_id={own}", _visit_form(override_reason="再送")
        ).status_code
        == 403
    )


def test_a_visit_cannot_be_scheduled_in_the_past(app, client, union, login_as):
    policy(app)
    login_as(Role.officer, union.branch_a)
    request_id = _request(app, make_member(app, union.group_a))
    yesterday = today() - timedelta(days=1)
    refused = post(
        client,
        f"/admin/care/requests/{request_id}/schedule",
        {"s-scheduled_on": yesterday.isoformat(), "s-visitors": "李华"},
    )
    assert refused.status_code == 422 and "走访日期不能早于今天" in html(refused)
    assert get(app, CareRequest, request_id).scheduled_on is None


def test_queue_schedule_visit_and_close_tell_the_member(app, client, union, login_as):
    policy(app)
    login_as(Role.officer, union.branch_a)
    member = make_member(app, union.group_a)
    request_id = _request(app, member)
    scheduled = post(
        client,
        f"/admin/care/requests/{request_id}/schedule",
        {"s-scheduled_on": today().isoformat(), "s-visitors": "李华"},
    )
    assert scheduled.status_code == 302
    saved = post(
        client,
        f"/admin/care/visits/new?member_id={member}&request_id={request_id}",
        _visit_form(
            category="hospitalization",
            amount="800",
            visitors="李华",
            request_id=str(request_id),
            member_id=str(member),
        ),
    )
    assert saved.status_code == 302, html(saved)[:500]
    assert get(app, CareRequest, request_id).status.value == "visited"
    with app.app_context():
        titles = db.session.scalars(
            sa.select(Notification.title).where(Notification.member_id == member)
        ).all()
    assert {"关怀申请已提交", "关怀走访已安排", "关怀走访已完成"} <= set(titles)
    other = _request(app, member)
    assert (
        post(client, f"/admin/care/requests/{other}/close", {"c-reason": "已由车间慰问"}).status_code == 302
    )
    assert get(app, CareRequest, other).status.value == "closed"


def test_held_text_must_be_released_before_scheduling(app, client, union, login_as):
    login_as(Role.officer, union.root)
    member = make_member(app, union.group_a)
    request_id = _request(app, member, state=ContentState.held)
    answer = post(
        client,
        f"/admin/care/requests/{request_id}/schedule",
        {"s-scheduled_on": today().isoformat(), "s-visitors": "李华"},
    )
    assert answer.status_code == 409 and "待人工审核" in html(answer)
    assert post(client, f"/admin/care/requests/{request_id}/release").status_code == 302
    assert get(app, CareRequest, request_id).content_state == ContentState.released


def _campaign(client, union, amount):
    data = {
        "name": f"{YEAR}年春节慰问",
        "festival": "春节",
        "visit_on": f"{YEAR}-02-01",
        "gift": "米面油",
        "amount": str(amount),
        "group_ids": [union.branch_a],
    }
    answer = post(client, "/admin/care/campaigns/new", data)
    assert answer.status_code == 302, html(answer)[:500]
    return int(answer.headers["Location"].rsplit("/", 1)[1])


def test_campaign_runs_once_per_member_and_leaves_out_those_over_the_festival_cap(
    app, client, union, login_as
):
    policy(app)  # cap ¥1,500
    login_as(Role.officer, union.root)
    members = [make_member(app, union.group_a) for _ in range(3)]
    make_member(app, union.group_b)  # another branch: not in the campaign
    spring = _campaign(client, union, 800)
    assert post(client, f"/admin/care/campaigns/{spring}/run").status_code == 200
    again = post(client, f"/admin/care/campaigns/{spring}/run")
    assert "新计划 0 人，已在计划中 3 人" in html(again)
    assert count(app, CareVisit) == 3
    # a second festival: 800 + 800 > 1500, everyone left out and listed
    autumn = _campaign(client, union, 800)
    page = html(post(client, f"/admin/care/campaigns/{autumn}/run"))
    assert "3 人超出标准未列入" in page and "超过节日慰问每人每年上限" in page
    # a third, smaller one fits under the cap (800 + 700 = 1500)
    small = _campaign(client, union, 700)
    post(client, f"/admin/care/campaigns/{small}/run")
    assert count(app, CareVisit) == 6
    with app.app_context():
        ids = db.session.scalars(sa.select(CareVisit.id).where(CareVisit.campaign_id == spring)).all()
    done = post(client, f"/admin/care/campaigns/{spring}/done", {"visit_ids": [str(i) for i in ids]})
    assert done.status_code == 302
    assert count(app, CareVisit, CareVisit.status == VisitStatus.done) == 3
    with app.app_context():
        told = db.session.scalars(
            sa.select(Notification.member_id).where(Notification.title == "您的节日慰问品已备好")
        ).all()
    assert sorted(told) == sorted(members)


def test_policy_edit_keeps_history_and_only_the_whole_union_edits(app, client, union, login_as):
    login_as(Role.chair, union.root)
    answer = post(
        client,
        f"/admin/care/policy/edit?year={YEAR}&category=birthday",
        {
            "standard": "生日蛋糕",
            "max_amount": "300",
            "frequency": "per_year",
            "relatives": "",
            "budget": "10000",
        },
    )
    assert answer.status_code == 302
    post(client, f"/admin/care/policy/year?year={YEAR}", {"festival_cap": "1500", "warn_percent": "80"})
    page = html(client.get(f"/admin/care/policy?year={YEAR}"))
    assert "修改记录" in page and "生日蛋糕" in page and "¥1,500.00" in page
    branch = app.test_client()
    login_as(Role.chair, union.branch_a, on=branch)
    assert branch.get(f"/admin/care/policy/edit?year={YEAR}&category=birthday").status_code == 403


def test_ledger_export_is_audited_and_carries_the_confirmation_time(app, client, union, login_as):
    policy(app)
    staff = login_as(Role.officer, union.root)
    member = make_member(app, union.group_a)
    visit_id = visit(app, staff, member)
    from backend.care.visits import confirm_receipt

    with app.app_context(), unit_of_work():
        confirm_receipt(db.session.get(CareVisit, visit_id), member=db.session.get(Member, member))
    answer = client.get(f"/admin/care/ledger.xlsx?year={YEAR}")
    assert answer.status_code == 200
    sheet = openpyxl.load_workbook(BytesIO(answer.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][11] == "签收时间" and rows[1][11] not in (None, "未签收")
    assert count(app, AuditLog, AuditLog.action == "care.ledger_export") == 1
    figures = html(client.get(f"/admin/care/figures?year={YEAR}"))
    assert "生日慰问" in figures and "100%" in figures


@pytest.mark.parametrize("role", [Role.officer, Role.chair, Role.admin])
def test_care_roles_see_the_nav_entry(client, union, login_as, role):
    login_as(role, union.root)
    assert "关怀慰问" in html(client.get("/admin/"))
    assert count  # keep the import used
    assert CareCampaign


def test_figures_by_group_and_out_of_scope_group_is_404(app, client, union, login_as):
    policy(app)
    staff = login_as(Role.officer, union.branch_a)
    visit(app, staff, make_member(app, union.group_a))
    page = html(client.get(f"/admin/care/figures?year={YEAR}&group_id={union.branch_a}"))
    assert "甲一组" in page and "按组织" in page
    assert client.get(f"/admin/care/figures?year={YEAR}&group_id={union.branch_b}").status_code == 404


def test_the_visit_form_asks_for_the_event_date_and_shows_the_refusal(app, client, union, login_as):
    policy(app)
    login_as(Role.officer, union.branch_a)
    member = make_member(app, union.group_a)
    form = {
        "category": "hospitalization",
        "visited_on": f"{YEAR}-06-01",
        "visitors": "李华",
        "amount": "500",
        "member_id": str(member),
    }
    url = f"/admin/care/visits/new?member_id={member}"
    missing = post(client, url, form)
    assert missing.status_code == 422 and "请填写事件日期" in html(missing)
    assert post(client, url, {**form, "event_on": f"{YEAR}-05-30"}).status_code == 302
    again = post(client, url, {**form, "event_on": f"{YEAR}-05-30"})
    assert again.status_code == 409 and "已有一次「住院慰问」" in html(again)


def test_a_feedback_comment_held_by_content_security_is_flagged_for_staff(app, client, emu, union, login_as):
    from tests.factories import auth, bound_member

    policy(app)
    staff = make_staff(app, Role.officer, union.root)
    held_member, held_token = bound_member(app, client, emu, union.group_a)
    plain_member, plain_token = bound_member(app, client, emu, union.group_a)
    held, plain = visit(app, staff, held_member), visit(app, staff, plain_member)
    for visit_id, token, comment in (
        (held, held_token, "想投诉一下送货太慢"),
        (plain, plain_token, "谢谢工会"),
    ):
        answer = client.post(
            f"/api/v1/care/visits/{visit_id}/feedback",
            json={"rating": 3, "comment": comment},
            headers=auth(token),
        )
        assert answer.status_code == 201
    assert get(app, CareVisit, held).comment_held is True  # the emulator's "review" path
    assert get(app, CareVisit, plain).comment_held is False
    login_as(Role.officer, union.root)
    page = html(client.get(f"/admin/care/visits/{held}"))
    assert "待人工审核" in page and "想投诉一下送货太慢" in page
    page = html(client.get(f"/admin/care/visits/{plain}"))
    assert "待人工审核" not in page and "3 分，谢谢工会" in page
    ledger = client.get(f"/admin/care/ledger.xlsx?start={YEAR}-01-01&end={YEAR}-12-31")
    rows = list(openpyxl.load_workbook(BytesIO(ledger.data)).active.iter_rows(values_only=True))
    assert "（待人工审核）想投诉一下送货太慢" in {row[13] for row in rows}


def test_visit_photos_show_as_thumbnails_from_the_authorised_endpoint(
    app, client, union, login_as, upload_dir
):
    from backend.care.visits import record_visit
    from backend.staff.models import Staff
    from backend.uploads.storage import staged_uploads
    from tests.care_helpers import draft
    from tests.factories import PDF, png_bytes

    policy(app)
    staff = login_as(Role.officer, union.root)
    member = make_member(app, union.group_a)
    files = [(BytesIO(png_bytes((40, 30))), "走访.png"), (BytesIO(PDF), "签收单.pdf")]
    with app.app_context(), staged_uploads(files) as staged, unit_of_work():
        saved = record_visit(draft(member), staff=db.session.get(Staff, staff), photos=staged)
        visit_id, (png, pdf) = saved.id, [p.id for p in saved.photos]
    answer = client.get(f"/admin/care/visits/{visit_id}")
    page = html(answer)
    assert f'<img src="/admin/care/visits/{visit_id}/photos/{png}"' in page
    assert f'<img src="/admin/care/visits/{visit_id}/photos/{pdf}"' not in page
    assert f'href="/admin/care/visits/{visit_id}/photos/{pdf}">签收单.pdf</a>' in page
    assert "img-src 'self'" in answer.headers["Content-Security-Policy"]
    image = client.get(f"/admin/care/visits/{visit_id}/photos/{png}")
    assert image.status_code == 200 and image.mimetype == "image/png"
    image.close()
