"""The figures page's table: groups in the order of the group tree, each branch a subtotal of its subtree,
its direct members a 本级 line below it (the chart drawn from these lines: tests/admin)."""

from __future__ import annotations

from backend.announcements.figures import figures_tree
from backend.announcements.models import Announcement
from backend.announcements.reading import record_read
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Group, Member
from tests.factories import make_announcement, make_member


def _read(app, announcement_id, member_id):
    with app.app_context(), unit_of_work():
        record_read(db.session.get(Announcement, announcement_id), member=db.session.get(Member, member_id))


def _tree(app, announcement_id, root_id, within_id=None):
    with app.app_context():
        within = db.session.get(Group, within_id) if within_id else None
        tree = figures_tree(
            db.session.get(Announcement, announcement_id), db.session.get(Group, root_id), within=within
        )
        lines = [
            (row.name, row.depth, row.subtotal, row.own, row.figures.recipients, row.figures.read)
            for row in tree.rows
        ]
        return lines, tree


def test_rows_follow_the_tree_with_branch_subtotals(app, union, root_officer):
    at_root = make_member(app, union.root)
    in_branch_a = make_member(app, union.branch_a)
    in_group_a = [make_member(app, union.group_a) for _ in range(2)]
    make_member(app, union.group_b)
    announcement_id = make_announcement(app, root_officer, whole_union=True)
    for member in (at_root, in_group_a[0], in_branch_a):
        _read(app, announcement_id, member)

    lines, tree = _tree(app, announcement_id, union.root)
    assert lines == [
        ("测试公司工会", 0, False, True, 1, 1),  # the root's own members; the table's total is its subtotal
        ("甲分会", 0, True, False, 3, 2),  # 甲分会 and everything below it
        ("甲分会", 1, False, True, 1, 1),  # 本级: directly in 甲分会
        ("甲一组", 1, False, False, 2, 1),
        ("乙分会", 0, True, False, 1, 0),
        ("乙一组", 1, False, False, 1, 0),
    ]
    assert (tree.total.recipients, tree.total.read) == (5, 3)


def test_an_officers_tree_starts_at_their_scope_and_counts_only_it(app, union, root_officer):
    make_member(app, union.root)
    make_member(app, union.group_a)
    make_member(app, union.group_b)
    announcement_id = make_announcement(app, root_officer, whole_union=True)
    lines, tree = _tree(app, announcement_id, union.branch_a, within_id=union.branch_a)
    assert lines == [("甲一组", 0, False, False, 1, 0)]
    assert tree.total.recipients == 1


def test_groups_nobody_got_it_in_are_left_out(app, union, root_officer):
    make_member(app, union.group_b)
    announcement_id = make_announcement(app, root_officer, group_ids=[union.branch_b])
    lines, _ = _tree(app, announcement_id, union.root)
    assert [name for name, *_ in lines] == ["乙分会", "乙一组"]
