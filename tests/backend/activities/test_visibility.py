"""The one rule of who sees an activity has two forms: `visible_to` (SQL, for lists) and
`activity_for_member` (one row by id, judged in Python, on every sign-up's path). They must agree for
every activity and member, including a member who holds a registration outside the audience."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.activities.models import Activity, Registration, RegistrationStatus
from backend.activities.queries import activity_for_member, visible_to
from backend.db import unit_of_work, utcnow
from backend.errors import NotFound
from backend.extensions import db
from backend.members.models import Member, MemberStatus
from tests.factories import make_activity, make_member


@pytest.fixture
def world(app, union, root_officer):
    from backend.activities.operations import cancel_activity
    from backend.staff.models import Staff

    activities = [
        make_activity(app, root_officer),
        make_activity(app, root_officer, whole_union=False, group_ids=[union.branch_a]),
        make_activity(app, root_officer, whole_union=False, group_ids=[union.group_b]),
        make_activity(app, root_officer, publish=False),
        make_activity(app, root_officer, whole_union=False, group_ids=[union.branch_b]),
    ]
    with app.app_context(), unit_of_work():
        cancel_activity(db.session.get(Activity, activities[4]), staff=db.session.get(Staff, root_officer),
                        reason="场地临时不可用")  # fmt: skip
    members = [
        make_member(app, union.group_a),
        make_member(app, union.group_b),
        make_member(app, union.root),
        make_member(app, union.group_a),
        make_member(app, union.group_b),
    ]
    with app.app_context(), unit_of_work():
        db.session.get(Member, members[3]).status = MemberStatus.pending
        db.session.get(Member, members[4]).status = MemberStatus.left
    with app.app_context(), unit_of_work():  # a member of A holding a (cancelled) registration for B's
        db.session.add(
            Registration(
                activity_id=activities[2],
                member_id=members[0],
                group_id=union.group_a,
                status=RegistrationStatus.cancelled,
                companions=0,
                answers={},
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
    return activities, members


def test_the_list_rule_and_the_by_id_rule_agree(app, world):
    activities, members = world
    seen = 0
    with app.app_context():
        for member_id in members:
            member = db.session.get(Member, member_id)
            listed = set(db.session.scalars(sa.select(Activity.id).where(visible_to(member))))
            for activity_id in activities:
                try:
                    activity_for_member(activity_id, member)
                    by_id = True
                except NotFound:
                    by_id = False
                assert by_id == (activity_id in listed), (member.group.name, member.status, activity_id)
                seen += by_id
        assert activity_for_member(activities[2], db.session.get(Member, members[0]))  # held registration
        with pytest.raises(NotFound):
            activity_for_member(activities[0], None)
    assert 0 < seen < len(members) * len(activities)
