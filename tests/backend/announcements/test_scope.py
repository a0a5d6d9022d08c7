"""Staff write to, and manage, only audiences inside their scope."""

from __future__ import annotations

import pytest

from backend.announcements.models import Announcement
from backend.announcements.queries import announcement_for_staff, staff_announcements
from backend.errors import NotFound, PermissionDenied, ValidationFailed
from backend.extensions import db
from backend.staff.models import Staff
from tests.factories import Role, act, make_announcement, make_staff


def test_branch_staff_cannot_target_another_branch(app, union, officer_a):
    with pytest.raises(ValidationFailed) as raised:
        make_announcement(app, officer_a, group_ids=[union.group_a, union.group_b])
    assert "groups" in raised.value.errors


def test_whole_union_only_for_staff_whose_scope_is_the_root(app, union, officer_a, root_officer):
    with pytest.raises(ValidationFailed) as raised:
        make_announcement(app, officer_a, whole_union=True)
    assert "audience" in raised.value.errors
    assert make_announcement(app, root_officer, whole_union=True)


def test_an_audience_is_required(app, union, officer_a):
    with pytest.raises(ValidationFailed) as raised:
        make_announcement(app, officer_a, group_ids=[])
    assert "groups" in raised.value.errors


def test_branch_staff_may_target_their_branch_and_groups_below(app, union, officer_a):
    assert make_announcement(app, officer_a, group_ids=[union.branch_a, union.group_a])


def test_group_leaders_cannot_write_announcements(app, union):
    leader = make_staff(app, Role.group_leader, union.root)
    with pytest.raises(PermissionDenied):
        make_announcement(app, leader, whole_union=True)


@pytest.mark.parametrize(
    ("operation", "audience"),
    [
        (operation, audience)
        for operation in ["publish", "withdraw", "remind_unread", "unschedule"]
        for audience in ["other_branch", "whole_union", "mixed"]
        # Issue 12: an officer reminds their own scope's unread of a union-wide announcement (only them:
        # test_read_only.py); every other act on it stays refused.
        if (operation, audience) != ("remind_unread", "whole_union")
    ],
)
def test_staff_cannot_act_on_announcements_outside_their_scope(
    app, union, officer_a, root_officer, operation, audience
):
    groups = {"other_branch": [union.group_b], "whole_union": [], "mixed": [union.group_a, union.group_b]}
    announcement_id = make_announcement(
        app, root_officer, group_ids=groups[audience], whole_union=audience == "whole_union"
    )
    with pytest.raises(NotFound):
        act(app, announcement_id, operation, officer_a)


def test_staff_lists_only_what_they_could_have_written(app, union, officer_a, root_officer):
    own = make_announcement(app, officer_a, group_ids=[union.group_a], publish=False)
    branch = make_announcement(app, root_officer, group_ids=[union.branch_a])
    make_announcement(app, root_officer, group_ids=[union.group_b])
    make_announcement(app, root_officer, whole_union=True)
    make_announcement(app, root_officer, group_ids=[union.group_a, union.group_b])
    leader = make_staff(app, Role.group_leader, union.root)

    with app.app_context():

        def listed(staff_id):
            staff = db.session.get(Staff, staff_id)
            return {a.id for a in db.session.scalars(staff_announcements(staff))}

        assert listed(officer_a) == {own, branch}
        assert len(listed(root_officer)) == 5
        assert listed(leader) == set()

        # The SQL filter and the Python check agree on every announcement.
        for staff_id in (officer_a, root_officer, leader):
            staff = db.session.get(Staff, staff_id)
            for announcement in db.session.scalars(db.select(Announcement)):
                assert announcement.can_manage(staff) is (announcement.id in listed(staff_id))


def test_staff_outside_scope_get_not_found(app, union, officer_a, root_officer):
    other = make_announcement(app, root_officer, group_ids=[union.group_b])
    with app.app_context(), pytest.raises(NotFound):
        announcement_for_staff(other, db.session.get(Staff, officer_a))
