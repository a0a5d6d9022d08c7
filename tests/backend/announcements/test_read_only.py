"""Officers and union-wide announcements: visible read-only, figures and reminders limited to their scope,
and still nothing of another branch."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.announcements.figures import figures_by_group, figures_tree, unread_recipients
from backend.announcements.models import Announcement
from backend.announcements.queries import (
    announcement_for_viewer,
    figures_scope,
    staff_announcements,
)
from backend.errors import NotFound
from backend.extensions import db
from backend.notifications.models import Notification
from backend.staff.models import Staff
from tests.factories import Role, act, make_announcement, make_member, make_staff


def _listed(app, staff_id):
    with app.app_context():
        staff = db.session.get(Staff, staff_id)
        return {a.id for a in db.session.scalars(staff_announcements(staff, include_read_only=True))}


def test_officers_view_what_reached_their_whole_scope_and_nothing_of_another_branch(
    app, union, officer_a, root_officer
):
    own = make_announcement(app, officer_a, group_ids=[union.group_a], publish=False)
    union_wide = make_announcement(app, root_officer, whole_union=True)
    withdrawn = make_announcement(app, root_officer, whole_union=True)
    act(app, withdrawn, "withdraw", root_officer)
    to_root_group = make_announcement(app, root_officer, group_ids=[union.root])
    union_draft = make_announcement(app, root_officer, whole_union=True, publish=False)
    other_branch = make_announcement(app, root_officer, group_ids=[union.group_b])
    mixed = make_announcement(app, root_officer, group_ids=[union.group_a, union.group_b])
    officer_b = make_staff(app, Role.officer, union.branch_b)
    officer_of_group_a = make_staff(app, Role.officer, union.group_a)
    branch_a = make_announcement(app, root_officer, group_ids=[union.branch_a])
    leader = make_staff(app, Role.group_leader, union.root)

    assert _listed(app, officer_a) == {own, union_wide, withdrawn, to_root_group, branch_a}
    assert _listed(app, officer_b) == {union_wide, withdrawn, to_root_group, other_branch}  # B manages it
    # An officer of a group below branch A manages what went to that group only, and follows what went to
    # all of it: branch A, or group A and another group.
    assert _listed(app, officer_of_group_a) == {own, union_wide, withdrawn, to_root_group, branch_a, mixed}
    assert _listed(app, leader) == set()
    assert {union_draft, other_branch, mixed}.isdisjoint(_listed(app, officer_a))

    everyone = (officer_a, officer_b, officer_of_group_a, root_officer, leader)
    listed = {staff_id: _listed(app, staff_id) for staff_id in everyone}
    with app.app_context():
        # The SQL filter and the Python check agree on every announcement, for every kind of staff.
        for staff_id in everyone:
            staff = db.session.get(Staff, staff_id)
            for announcement in db.session.scalars(sa.select(Announcement)):
                assert announcement.can_view(staff) is (announcement.id in listed[staff_id])
        with pytest.raises(NotFound):
            announcement_for_viewer(other_branch, db.session.get(Staff, officer_a))


@pytest.mark.parametrize("operation", ["withdraw", "publish", "unschedule"])
def test_what_an_officer_only_views_they_cannot_change(app, union, officer_a, root_officer, operation):
    union_wide = make_announcement(app, root_officer, whole_union=True)
    with pytest.raises(NotFound):
        act(app, union_wide, operation, officer_a)


def _union_wide_with_members(app, union, root_officer):
    in_a = [make_member(app, union.group_a) for _ in range(2)] + [make_member(app, union.branch_a)]
    in_b = [make_member(app, union.group_b) for _ in range(3)]
    return make_announcement(app, root_officer, whole_union=True), in_a, in_b


def test_an_officers_figures_count_only_their_scope(app, union, officer_a, root_officer):
    announcement_id, in_a, in_b = _union_wide_with_members(app, union, root_officer)
    with app.app_context():
        announcement = db.session.get(Announcement, announcement_id)
        officer = db.session.get(Staff, officer_a)
        within = figures_scope(announcement, officer)
        assert within is not None and within.id == union.branch_a
        assert figures_scope(announcement, db.session.get(Staff, root_officer)) is None

        rows, total = figures_by_group(announcement, within=within)
        assert {row.group_id for row in rows} == {union.branch_a, union.group_a} and total.recipients == 3
        unread = {row.id for row in db.session.execute(unread_recipients(announcement, within=within))}
        assert unread == set(in_a)
        tree = figures_tree(announcement, officer.scope, within=within)
        assert tree.total.recipients == 3

        _, everyone = figures_by_group(announcement)
        assert everyone.recipients == len(in_a) + len(in_b)


def _reminded(app, announcement_id):
    with app.app_context():
        return set(
            db.session.scalars(
                sa.select(Notification.member_id).where(
                    Notification.dedupe_key.startswith(f"announcement:{announcement_id}:remind:")
                )
            )
        )


def test_an_officer_reminds_only_the_unread_of_their_scope(app, union, officer_a, root_officer):
    announcement_id, in_a, in_b = _union_wide_with_members(app, union, root_officer)
    assert act(app, announcement_id, "remind_unread", officer_a) == len(in_a)
    assert _reminded(app, announcement_id) == set(in_a)
    # The union's own staff still reach everyone not yet reminded today.
    assert act(app, announcement_id, "remind_unread", root_officer) == len(in_b)
    assert _reminded(app, announcement_id) == set(in_a) | set(in_b)


def test_an_officer_cannot_remind_for_another_branchs_announcement(app, union, officer_a, root_officer):
    make_member(app, union.group_b)
    other = make_announcement(app, root_officer, group_ids=[union.group_b])
    with pytest.raises(NotFound):
        act(app, other, "remind_unread", officer_a)
    assert _reminded(app, other) == set()
