"""Publishing: the recipients snapshot, the inbox messages, idempotence, scheduling, withdrawal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from backend.announcements.models import Announcement, AnnouncementRecipient, AnnouncementStatus
from backend.announcements.operations import publish_due
from backend.audit.models import AuditLog
from backend.db import unit_of_work
from backend.errors import InvalidState, ValidationFailed
from backend.extensions import db
from backend.members.models import Group, Member, MemberStatus
from backend.members.operations import change_group, set_member_status
from backend.notifications.models import DeliveryState, Notification
from tests.backend.announcements.helpers import notifications_for, recipient_ids
from tests.factories import act, count, get, make_announcement, make_member

NOON = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def _set_status(app, member_id, status):
    with app.app_context(), unit_of_work():
        set_member_status(db.session.get(Member, member_id), status, staff=None)


def test_publish_snapshots_active_members_of_the_audience_and_the_groups_below(app, union, root_officer):
    in_branch = make_member(app, union.branch_a)
    in_group = make_member(app, union.group_a)
    elsewhere = make_member(app, union.group_b)
    left = make_member(app, union.group_a)
    _set_status(app, left, MemberStatus.left)

    announcement_id = make_announcement(app, root_officer, group_ids=[union.branch_a])

    assert recipient_ids(app, announcement_id) == {in_branch, in_group}
    assert elsewhere not in recipient_ids(app, announcement_id)
    with app.app_context():
        groups = dict(
            db.session.execute(
                sa.select(AnnouncementRecipient.member_id, AnnouncementRecipient.group_id).where(
                    AnnouncementRecipient.announcement_id == announcement_id
                )
            ).all()
        )
    assert groups == {in_branch: union.branch_a, in_group: union.group_a}


def test_publish_puts_one_message_in_each_recipients_inbox(app, union, root_officer):
    members = [make_member(app, union.group_a) for _ in range(3)]
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a], title="职代会通知")

    assert sorted(notifications_for(app, announcement_id)) == sorted(
        (m, f"announcement:{announcement_id}:{m}") for m in members
    )
    with app.app_context():
        message = db.session.scalars(sa.select(Notification)).first()
        assert message.kind.value == "announcement"
        assert message.title == "【通知】职代会通知"
        assert message.link == f"/pages/announcements/detail?id={announcement_id}"
        assert message.data["category"] == "通知" and message.data["title"] == "职代会通知"
        assert message.data["published_at"].endswith("+08:00")


def test_push_off_keeps_the_inbox_but_skips_wechat(app, union, root_officer):
    make_member(app, union.group_a)
    make_announcement(app, root_officer, group_ids=[union.group_a], push=False)
    with app.app_context():
        message = db.session.scalars(sa.select(Notification)).one()
    assert message.wechat_state == DeliveryState.skipped
    assert message.last_error_code == "push_off"


def test_whole_union_reaches_every_active_member(app, union, root_officer):
    members = {make_member(app, gid) for gid in (union.root, union.group_a, union.group_b)}
    announcement_id = make_announcement(app, root_officer, whole_union=True)
    assert recipient_ids(app, announcement_id) == members


def test_members_who_join_or_move_in_later_are_not_recipients(app, union, root_officer):
    first = make_member(app, union.group_a)
    mover = make_member(app, union.group_b)
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a])
    make_member(app, union.group_a)
    with app.app_context(), unit_of_work():
        change_group(db.session.get(Member, mover), db.session.get(Group, union.group_a), staff=None)

    assert recipient_ids(app, announcement_id) == {first}
    assert [m for m, _ in notifications_for(app, announcement_id)] == [first]


def test_publishing_twice_changes_nothing(app, union, root_officer):
    make_member(app, union.group_a)
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a], now=NOON)
    make_member(app, union.group_a)  # would be picked up by a second snapshot

    act(app, announcement_id, "publish", root_officer, now=NOON + timedelta(hours=1))

    announcement = get(app, Announcement, announcement_id)
    assert announcement.published_at == NOON
    assert len(recipient_ids(app, announcement_id)) == 1
    assert len(notifications_for(app, announcement_id)) == 1
    assert count(app, AuditLog, AuditLog.action == "announcement.publish") == 1


def test_a_withdrawn_announcement_cannot_be_published_again(app, union, root_officer):
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a])
    act(app, announcement_id, "withdraw", root_officer)
    with pytest.raises(InvalidState):
        act(app, announcement_id, "publish", root_officer)


def test_publish_due_publishes_only_what_is_due_and_only_once(app, union, root_officer):
    member = make_member(app, union.group_a)
    at = NOON + timedelta(hours=2)
    due_id = make_announcement(app, root_officer, group_ids=[union.group_a], publish_at=at, now=NOON)
    later_id = make_announcement(
        app, root_officer, group_ids=[union.group_a], publish_at=at + timedelta(days=1), now=NOON
    )
    assert get(app, Announcement, due_id).status == AnnouncementStatus.scheduled
    assert recipient_ids(app, due_id) == set()

    with app.app_context(), unit_of_work():
        assert publish_due(at - timedelta(seconds=1)) == []
    with app.app_context(), unit_of_work():
        assert [a.id for a in publish_due(at)] == [due_id]
    with app.app_context(), unit_of_work():
        assert publish_due(at + timedelta(minutes=1)) == []

    published = get(app, Announcement, due_id)
    assert published.status == AnnouncementStatus.published and published.published_at == at
    assert get(app, Announcement, later_id).status == AnnouncementStatus.scheduled
    assert recipient_ids(app, due_id) == {member}
    assert len(notifications_for(app, due_id)) == 1


def test_the_publish_due_job_publishes_and_commits(app, union, root_officer):
    from backend.jobs import publish_due_announcements

    make_member(app, union.group_a)
    announcement_id = make_announcement(
        app, root_officer, group_ids=[union.group_a], publish_at=NOON, now=NOON - timedelta(hours=1)
    )
    with app.app_context():
        assert publish_due_announcements() == 1
    assert get(app, Announcement, announcement_id).status == AnnouncementStatus.published


def test_schedule_must_be_in_the_future(app, union, root_officer):
    with pytest.raises(ValidationFailed) as raised:
        make_announcement(app, root_officer, group_ids=[union.group_a], publish_at=NOON, now=NOON)
    assert "publish_at" in raised.value.errors


def test_unschedule_returns_to_draft_and_publish_due_ignores_it(app, union, root_officer):
    announcement_id = make_announcement(
        app, root_officer, group_ids=[union.group_a], publish_at=NOON, now=NOON - timedelta(hours=1)
    )
    act(app, announcement_id, "unschedule", root_officer)
    with app.app_context(), unit_of_work():
        assert publish_due(NOON + timedelta(hours=1)) == []
    announcement = get(app, Announcement, announcement_id)
    assert announcement.status == AnnouncementStatus.draft and announcement.publish_at is None


def test_published_announcements_cannot_be_edited(app, union, root_officer):
    from backend.announcements.models import AnnouncementCategory

    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a])
    with pytest.raises(InvalidState):
        act(
            app,
            announcement_id,
            "update_announcement",
            root_officer,
            title="改",
            body_html="<p>改</p>",
            category=AnnouncementCategory.notice,
            whole_union=False,
            groups=[],
            pinned=False,
            push=True,
        )


def test_withdraw_keeps_inbox_messages(app, union, root_officer):
    make_member(app, union.group_a)
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a])
    act(app, announcement_id, "withdraw", root_officer)
    announcement = get(app, Announcement, announcement_id)
    assert announcement.status == AnnouncementStatus.withdrawn and announcement.withdrawn_at is not None
    assert len(notifications_for(app, announcement_id)) == 1


def test_withdraw_only_published(app, union, root_officer):
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a], publish=False)
    with pytest.raises(InvalidState):
        act(app, announcement_id, "withdraw", root_officer)


def test_body_is_sanitised_on_save(app, union, root_officer):
    announcement_id = make_announcement(
        app,
        root_officer,
        group_ids=[union.group_a],
        publish=False,
        body_html='<p onclick="x()">内容</p><script>steal()</script>',
    )
    announcement = get(app, Announcement, announcement_id)
    assert announcement.body_html == "<p>内容</p>"
    assert announcement.summary == "内容"


def test_title_and_body_are_required(app, union, root_officer):
    with pytest.raises(ValidationFailed) as raised:
        make_announcement(
            app, root_officer, group_ids=[union.group_a], title=" ", body_html="<script>x</script>"
        )
    assert set(raised.value.errors) == {"title", "body_html"}


@pytest.mark.parametrize(
    ("status", "times"),
    [
        ("published", {}),
        ("draft", {"published_at": NOON}),
        ("scheduled", {}),
        ("withdrawn", {"published_at": NOON}),
        ("published", {"published_at": NOON, "withdrawn_at": NOON}),
    ],
)
def test_check_constraints_tie_status_to_its_times(app, union, root_officer, status, times):
    announcement_id = make_announcement(app, root_officer, group_ids=[union.group_a], publish=False)
    with app.app_context():
        values = {"status": status, "publish_at": None, "published_at": None, "withdrawn_at": None, **times}
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(
                sa.update(Announcement).where(Announcement.id == announcement_id).values(**values)
            )
            db.session.flush()
        db.session.rollback()


def test_saving_the_form_again_with_the_same_time_leaves_the_schedule_alone(app, union, root_officer):
    # Due but not yet picked up by the scheduler: re-scheduling it would be refused as "in the past".
    due = datetime(2025, 1, 1, 1, 0, tzinfo=UTC)
    announcement_id = make_announcement(
        app, root_officer, group_ids=[union.group_a], publish_at=due, now=due - timedelta(hours=1)
    )

    act(app, announcement_id, "set_publish_time", root_officer, publish_at=due)

    announcement = get(app, Announcement, announcement_id)
    assert (announcement.status, announcement.publish_at) == (AnnouncementStatus.scheduled, due)
    assert count(app, AuditLog, AuditLog.action == "announcement.schedule") == 1
    act(app, announcement_id, "set_publish_time", root_officer, publish_at=None)
    assert get(app, Announcement, announcement_id).status == AnnouncementStatus.draft
