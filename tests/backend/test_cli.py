"""Operator commands, as an IT person runs them."""

from __future__ import annotations

import sqlalchemy as sa

from backend.extensions import db
from backend.members.models import Group, Member
from backend.staff.models import Staff
from tests.factories import count


def test_create_staff_on_an_empty_database_creates_the_union_too(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-staff",
            "boss",
            "--role",
            "admin",
            "--name",
            "张主任",
            "--union-name",
            "某某公司工会",
            "--password",
            "long-enough-1",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "系统管理员" in result.output
    with app.app_context():
        staff = db.session.scalar(sa.select(Staff).where(Staff.username == "boss"))
        assert staff.scope.name == "某某公司工会" and staff.scope.parent_id is None
        assert staff.check_password("long-enough-1") and staff.password_hash != "long-enough-1"


def test_create_staff_refuses_a_short_password_and_a_taken_name(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["create-staff", "a", "--password", "short"]).exit_code != 0
    assert runner.invoke(args=["create-staff", "a", "--password", "long-enough-1"]).exit_code == 0
    again = runner.invoke(args=["create-staff", "A", "--password", "long-enough-1"])
    assert again.exit_code != 0
    assert count(app, Staff) == 1


def test_seed_demo_loads_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "admin" in first.output and "demo12345" in first.output
    assert count(app, Member) >= 30
    assert count(app, Group, Group.parent_id.isnot(None), Group.path.like("/%/%/")) >= 3
    roles = {staff.role.value for staff in _all_staff(app)}
    assert roles == {"admin", "chair", "officer", "group_leader"}
    from backend.announcements.models import Announcement, AnnouncementStatus
    from backend.notifications.models import Notification

    # A published announcement (its inbox messages written) and a draft, so every page has something.
    assert count(app, Announcement, Announcement.status == AnnouncementStatus.published) == 1
    assert count(app, Announcement, Announcement.status == AnnouncementStatus.draft) == 1
    # Every member's inbox has the announcement; the hardship applicant also has "申请已提交".
    assert count(app, Notification) == count(app, Member) + 1
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "未重复载入" in again.output


def test_run_periodic_runs(app):
    result = app.test_cli_runner().invoke(args=["run-periodic"])
    assert result.exit_code == 0, result.output
    assert "发布定时公告 0 条" in result.output


def _all_staff(app):
    with app.app_context():
        return db.session.scalars(sa.select(Staff)).all()


def test_purge_expired_removes_only_what_has_run_out(app):
    from datetime import timedelta

    from backend.db import unit_of_work, utcnow
    from backend.idempotency import IdempotencyKey
    from backend.members.models import ApiToken, WechatAccount
    from backend.members.roster.models import ImportStatus, RosterImport
    from backend.notifications.models import GrantSource, HandledPush, SubscriptionGrant
    from backend.uploads.models import Upload
    from tests.factories import make_member, make_staff, make_union, make_upload, png_bytes

    union = make_union(app)
    member_id = make_member(app, union.group_a)
    now = utcnow()
    with app.app_context(), unit_of_work():
        account = WechatAccount(openid="wx-purge", member_id=member_id, created_at=now)
        db.session.add(account)
        db.session.flush()
        # (token expired, key made, grant and push received) ago: just past each retention, or well inside.
        for tag, expired, keyed, granted in (
            ("old", timedelta(days=31), timedelta(hours=25), timedelta(days=8)),
            ("new", timedelta(days=29), timedelta(hours=23), timedelta(days=6)),
        ):
            db.session.add(
                ApiToken(token_hash=f"{tag:0>64}", wechat_account_id=account.id, expires_at=now - expired)
            )
            db.session.add(
                IdempotencyKey(wechat_account_id=account.id, key=tag, request_hash="0" * 64,
                               endpoint="POST /uploads", created_at=now - keyed)
            )  # fmt: skip
            db.session.add(
                SubscriptionGrant(wechat_account_id=account.id, template_id="t", source=GrantSource.client,
                                  received_at=now - granted)
            )  # fmt: skip
            db.session.add(HandledPush(digest=f"{tag:0>64}", event="e", received_at=now - granted))
    for age in (timedelta(days=2), timedelta(hours=1)):
        make_upload(app, member_id, data=png_bytes(), name="a.png", now=now - age)
    with app.app_context(), unit_of_work():
        staff = db.session.get(Staff, make_staff(app, "admin", union.root))
        for finished in (timedelta(days=91), timedelta(days=89)):
            db.session.add(
                RosterImport(staff_id=staff.id, filename="名册.xlsx", status=ImportStatus.done,
                             created_at=now - finished, finished_at=now - finished)
            )  # fmt: skip

    result = app.test_cli_runner().invoke(args=["purge-expired"])

    assert result.exit_code == 0, result.output
    assert (
        "过期令牌 1 个，未使用的上传文件 1 个，防重复提交记录 1 条，订阅与微信推送记录 2 条" in result.output
    )
    assert "名册导入记录 1 条" in result.output
    for model in (ApiToken, IdempotencyKey, SubscriptionGrant, HandledPush, Upload, RosterImport):
        assert count(app, model) == 1, model


def test_purge_expired_goes_on_past_a_failing_step_and_says_so(app, tmp_path):
    from datetime import timedelta

    from backend.db import unit_of_work, utcnow
    from backend.members.models import ApiToken, WechatAccount
    from backend.notifications.models import HandledPush
    from tests.factories import make_member, make_union

    member_id = make_member(app, make_union(app).group_a)
    with app.app_context(), unit_of_work():
        account = WechatAccount(openid="wx-purge-2", member_id=member_id, created_at=utcnow())
        db.session.add(account)
        db.session.flush()
        db.session.add(HandledPush(digest="2" * 64, event="e", received_at=utcnow() - timedelta(days=8)))
        db.session.add(
            ApiToken(
                token_hash="1" * 64, wechat_account_id=account.id, expires_at=utcnow() - timedelta(days=40)
            )
        )
    not_a_directory = tmp_path / "uploads"
    not_a_directory.write_text("a file where the upload directory should be")
    assert count(app, HandledPush) == 1
    upload_dir, app.config["UPLOAD_DIR"] = app.config["UPLOAD_DIR"], str(not_a_directory)
    try:
        result = app.test_cli_runner().invoke(args=["purge-expired"])
    finally:
        app.config["UPLOAD_DIR"] = upload_dir
    assert result.exit_code != 0 and "uploads" in str(result.exception)
    # The steps before and after the broken one still ran.
    assert count(app, ApiToken) == 0 and count(app, HandledPush) == 0
