"""The staff operations' guards, each with a test that fails without it: editing a published or a
cancelled activity, adding a member by hand (scope, already signed up), the limit on form fields."""

from __future__ import annotations

import pytest

from backend.activities import operations, signup
from backend.activities.fields import MAX_FIELDS, clean_fields
from backend.activities.models import Activity, Allocation
from backend.db import unit_of_work
from backend.errors import Conflict, InvalidState, NotFound, ValidationFailed
from backend.extensions import db
from backend.members.models import Member
from backend.staff.models import Role, Staff
from tests.factories import make_activity, make_member, make_staff


def _draft(activity: Activity, **changes) -> operations.ActivityDraft:
    keys = [k for k in vars(operations.ActivityDraft(*[None] * 8)) if k != "group_ids"]
    draft = operations.ActivityDraft(**{k: getattr(activity, k) for k in keys})
    draft.group_ids = [g.id for g in activity.groups]
    for key, value in changes.items():
        setattr(draft, key, value)
    return draft


def _save(app, activity_id, staff_id, **changes):
    with app.app_context(), unit_of_work():
        activity = db.session.get(Activity, activity_id)
        draft = _draft(activity, **changes)
        operations.save_activity(activity, draft, staff=db.session.get(Staff, staff_id))


def _sign_up(app, activity_id, count, group_id):
    for _ in range(count):
        member_id = make_member(app, group_id)
        with app.app_context(), unit_of_work():
            signup.register(activity_id, db.session.get(Member, member_id), answers={})


def test_a_published_activity_keeps_its_allocation(app, union, root_officer):
    activity_id = make_activity(app, root_officer)
    with pytest.raises(ValidationFailed) as refused:
        _save(app, activity_id, root_officer, allocation=Allocation.lottery)
    assert "allocation" in refused.value.errors
    with app.app_context():
        assert db.session.get(Activity, activity_id).allocation == Allocation.first_come
    # a draft may still change it
    draft_id = make_activity(app, root_officer, publish=False)
    _save(app, draft_id, root_officer, allocation=Allocation.lottery)


def test_a_published_activity_keeps_capacity_for_the_seats_taken(app, union, root_officer):
    activity_id = make_activity(app, root_officer, capacity=5)
    _sign_up(app, activity_id, 3, union.group_a)
    with pytest.raises(ValidationFailed) as refused:
        _save(app, activity_id, root_officer, capacity=2)
    assert "capacity" in refused.value.errors
    _save(app, activity_id, root_officer, capacity=3)
    with app.app_context():
        activity = db.session.get(Activity, activity_id)
        assert (activity.capacity, activity.seats_taken) == (3, 3)


def test_a_cancelled_activity_is_not_edited(app, union, root_officer):
    activity_id = make_activity(app, root_officer)
    with app.app_context(), unit_of_work():
        operations.cancel_activity(
            db.session.get(Activity, activity_id), staff=db.session.get(Staff, root_officer), reason="天气"
        )
    with pytest.raises(InvalidState, match="已取消"):
        _save(app, activity_id, root_officer, title="改了名字")
    with app.app_context():
        assert db.session.get(Activity, activity_id).title == "职工趣味运动会"


def _add(app, activity_id, staff_id, member_id):
    with app.app_context(), unit_of_work():
        return operations.add_member(
            db.session.get(Activity, activity_id),
            db.session.get(Member, member_id),
            staff=db.session.get(Staff, staff_id),
            reason="电话报名",
        ).id


def test_staff_add_only_members_of_their_own_scope(app, union):
    officer = make_staff(app, Role.officer, union.branch_a)
    activity_id = make_activity(app, officer, whole_union=False, group_ids=[union.branch_a])
    other_branch = make_member(app, union.group_b)
    with pytest.raises(NotFound):
        _add(app, activity_id, officer, other_branch)
    assert _add(app, activity_id, officer, make_member(app, union.group_a))


def test_a_member_already_signed_up_is_not_added_twice(app, union, root_officer):
    activity_id = make_activity(app, root_officer)
    member_id = make_member(app, union.group_a)
    _add(app, activity_id, root_officer, member_id)
    with pytest.raises(Conflict, match="该会员已报名"):
        _add(app, activity_id, root_officer, member_id)


def test_at_most_max_fields_form_fields():
    fields = [{"label": f"项{i}", "type": "text"} for i in range(MAX_FIELDS)]
    assert len(clean_fields(fields)) == MAX_FIELDS
    with pytest.raises(ValidationFailed) as refused:
        clean_fields([*fields, {"label": "多一项", "type": "text"}])
    assert "最多" in refused.value.errors["form_fields"][0]


def test_no_lottery_application_after_the_draw(app, union, root_officer):
    from datetime import timedelta

    from backend.activities.draw import draw
    from backend.activities.errors import RegistrationClosed
    from backend.db import utcnow

    activity_id = make_activity(app, root_officer, allocation=Allocation.lottery)
    _sign_up(app, activity_id, 1, union.group_a)
    with app.app_context(), unit_of_work():  # drawn (as if registration had closed) while still open
        assert draw(activity_id, now=utcnow() + timedelta(days=2, minutes=1))
    with pytest.raises(RegistrationClosed):
        _sign_up(app, activity_id, 1, union.group_a)


def test_the_sheet_is_exported_only_by_who_manages_the_activity(app, union, root_officer):
    from backend.activities.sheet import export_sheet

    activity_id = make_activity(app, root_officer, whole_union=False, group_ids=[union.branch_a])
    other_branch = make_staff(app, Role.officer, union.branch_b)
    with app.app_context(), unit_of_work(), pytest.raises(NotFound):
        export_sheet(db.session.get(Activity, activity_id), staff=db.session.get(Staff, other_branch))
