"""ListPage pages a list in memory with the page numbers Flask-SQLAlchemy's pagination gives a query."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from admin.pagination import ListPage
from backend.extensions import db
from backend.members.models import Group
from tests.factories import make_union


@pytest.mark.parametrize(
    ("count", "page", "per_page"), [(0, 1, 3), (5, 1, 3), (5, 2, 3), (40, 7, 2), (41, 20, 2)]
)
def test_list_page_matches_flask_sqlalchemy(app, count, page, per_page):
    union = make_union(app)
    with app.app_context():
        from backend.db import unit_of_work
        from backend.members.operations import create_group

        with unit_of_work():
            root = db.session.get(Group, union.root)
            for n in range(count - 5):
                create_group(f"组{n:03d}", parent=root, staff=None)
        query = sa.select(Group).order_by(Group.id)
        everything = list(db.session.scalars(query))[:count]
        chosen = sa.select(Group).where(Group.id.in_([g.id for g in everything])).order_by(Group.id)
        expected = db.paginate(chosen, page=page, per_page=per_page, error_out=False)
        ours = ListPage(everything, page=page, per_page=per_page)
        assert [g.id for g in ours.items] == [g.id for g in expected.items]
        assert (ours.total, ours.pages, ours.has_prev, ours.has_next) == (
            expected.total,
            expected.pages,
            expected.has_prev,
            expected.has_next,
        )
        assert (ours.prev_num, ours.next_num) == (expected.prev_num, expected.next_num)
        assert list(ours.iter_pages(left_edge=1, left_current=2, right_current=3, right_edge=1)) == list(
            expected.iter_pages(left_edge=1, left_current=2, right_current=3, right_edge=1)
        )
