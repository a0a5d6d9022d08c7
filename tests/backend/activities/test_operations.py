"""Staff operations, reminders and the notifications they send."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.activities import operations, signup
from backend.activities.fields import clean_fields
from backend.activities.models import Activity, Registration, RegistrationStatus
from backend.activities.schedule import remind_due
from backend.db import unit_of_work, utcnow
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.members.models import Member
from backend.notifications.models import Notification
from backend.staff.models import Staff
from tests.factories import make_activity, make_member, make_staff


def _register(app, activity_id, member_id, **kwargs):
    with app.app_context(), unit_of_work():
        registration, _ = signup.register(
            activity_id, db.session.get(Member, member_id), answers={}, **kwargs
        )
        return registration.id


def _titles(app, prefix):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).where(Notification.title.startswith(prefix)))


def test_the_reminder_goes_once_per_registered_member(app, union, root_officer):
    now = utcnow()
    activity_id = make_activity(
        app, root_officer, starts_at=now + timedelta(hours=5), ends_at=now + timedelta(hours=6),
        registration_closes_at=now + timedelta(hours=4), capacity=1,
    )  # fmt: skip
    seated, waiting = make_member(app, union.group_a), make_member(app, union.group_a)
    _register(app, activity_id, seated)
    _register(app, activity_id, waiting)
    with app.app_context():
        with unit_of_work():
            assert remind_due() == 1
        with unit_of_work():
            assert remind_due() == 0
    assert _titles(app, "活动提醒") == 1


def test_a_new_time_or_place_is_told_to_everyone_signed_up(app, union, root_officer):
    activity_id = make_activity(app, root_officer, capacity=1)
    for _ in range(2):
        _register(app, activity_id, make_member(app, union.group_a))
    with app.app_context(), unit_of_work():
        activity = db.session.get(Activity, activity_id)
        draft = operations.ActivityDraft(
            **{
                k: getattr(activity, k)
                for k in vars(operations.ActivityDraft(*[None] * 8))
                if k != "group_ids"
            }
        )
        draft.location = "体育馆"
        operations.save_activity(activity, draft, staff=db.session.get(Staff, root_officer))
    assert _titles(app, "活动时间或地点变更") == 2


def test_staff_add_remove_and_no_shows(app, union, root_officer):
    now = utcnow()
    activity_id = make_activity(app, root_officer, capacity=1)
    first, second = make_member(app, union.group_a), make_member(app, union.group_b)
    with app.app_context(), unit_of_work():
        staff = db.session.get(Staff, root_officer)
        activity = db.session.get(Activity, activity_id)
        one = operations.add_member(activity, db.session.get(Member, first), staff=staff, reason="电话报名")
        two = operations.add_member(activity, db.session.get(Member, second), staff=staff, reason="电话报名")
        assert (one.status, two.status) == (RegistrationStatus.registered, RegistrationStatus.waitlisted)
        operations.remove_registration(one, staff=staff, reason="本人来电取消")
        assert two.status == RegistrationStatus.registered and activity.seats_taken == 1
        with pytest.raises(Exception, match="结束后"):
            operations.mark_no_shows(activity, staff=staff)
        assert operations.mark_no_shows(activity, staff=staff, now=now + timedelta(days=4)) == 1
    with app.app_context():
        assert (
            db.session.scalar(sa.select(Registration.status).where(Registration.member_id == second))
            == "no_show"
        )


def test_a_branch_officer_cannot_reach_another_branch(app, union):
    officer = make_staff(app, "officer", union.branch_a)
    with app.app_context(), unit_of_work(), pytest.raises(ValidationFailed):
        staff = db.session.get(Staff, officer)
        draft = operations.ActivityDraft(
            title="x", category="other", description_html="", location="x",
            starts_at=utcnow() + timedelta(days=2), ends_at=utcnow() + timedelta(days=3),
            registration_opens_at=utcnow(), registration_closes_at=utcnow() + timedelta(days=1),
            group_ids=[union.group_b],
        )  # fmt: skip
        operations.save_activity(None, draft, staff=staff)


def test_form_fields_are_checked():
    assert clean_fields([{"label": "尺码", "type": "choice", "choices": ["M", "M", "L"]}])[0]["choices"] == [
        "M",
        "L",
    ]
    with pytest.raises(ValidationFailed):
        clean_fields([{"label": "尺码", "type": "choice", "choices": []}])
    with pytest.raises(ValidationFailed):
        clean_fields([{"key": "a", "label": "x"}, {"key": "a", "label": "y"}])


def _edit(app, activity_id, staff_id, **changes):
    with app.app_context(), unit_of_work():
        activity = db.session.get(Activity, activity_id)
        names = vars(operations.ActivityDraft(*[None] * 8))
        draft = operations.ActivityDraft(**{k: getattr(activity, k) for k in names if k != "group_ids"})
        for key, value in changes.items():
            setattr(draft, key, value)
        operations.save_activity(activity, draft, staff=db.session.get(Staff, staff_id))


def _statuses(app, ids):
    with app.app_context():
        return [(r.status, r.waitlist_position) for r in (db.session.get(Registration, i) for i in ids)]


def test_more_seats_go_to_the_waitlist_in_its_order_not_to_new_taps(app, union, root_officer):
    activity_id = make_activity(app, root_officer, capacity=1)
    ids = [_register(app, activity_id, make_member(app, union.group_a)) for _ in range(3)]
    _edit(app, activity_id, root_officer, capacity=2)
    S = RegistrationStatus
    assert _statuses(app, ids) == [(S.registered, None), (S.registered, None), (S.waitlisted, 1)]
    late = _register(app, activity_id, make_member(app, union.group_a))
    assert _statuses(app, [late]) == [(S.waitlisted, 2)]
    with app.app_context():
        promoted = db.session.get(Registration, ids[1])
        told = db.session.scalars(sa.select(Notification).where(Notification.member_id == promoted.member_id))
        assert len(told.all()) == 1


def test_the_draw_numbers_its_waitlist_after_members_staff_already_waitlisted(app, union, root_officer):
    from backend.activities.draw import draw
    from backend.activities.models import Allocation

    now = utcnow()
    activity_id = make_activity(app, root_officer, capacity=1, allocation=Allocation.lottery)
    members = [make_member(app, union.group_a) for _ in range(2)]
    with app.app_context(), unit_of_work():
        staff, activity = db.session.get(Staff, root_officer), db.session.get(Activity, activity_id)
        by_hand = [
            operations.add_member(
                activity, db.session.get(Member, m), staff=staff, reason="行动不便，工会代报名"
            ).id
            for m in members
        ]
    applicants = [_register(app, activity_id, make_member(app, union.group_a)) for _ in range(2)]
    with app.app_context(), unit_of_work():
        assert draw(activity_id, now=now + timedelta(days=2, minutes=1))
    positions = sorted(p for _, p in _statuses(app, by_hand + applicants) if p is not None)
    assert positions == [1, 2, 3]
