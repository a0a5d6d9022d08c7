"""Staff accounts for an admin: only their scope's, and only for a role that manages staff."""

from __future__ import annotations

import pytest

from backend.errors import NotFound
from backend.extensions import db
from backend.staff.models import Role, Staff
from backend.staff.queries import staff_accounts, staff_for_admin
from tests.factories import make_staff


def test_an_admin_gets_the_accounts_in_their_scope_only(app, union):
    root_admin = make_staff(app, Role.admin, union.root)
    branch_admin = make_staff(app, Role.admin, union.branch_a)
    chair_a = make_staff(app, Role.chair, union.branch_a)
    chair_b = make_staff(app, Role.chair, union.branch_b)
    with app.app_context():
        branch = db.session.get(Staff, branch_admin)
        assert {s.id for s in staff_accounts(branch)} == {branch_admin, chair_a}
        assert staff_for_admin(chair_a, branch).id == chair_a
        with pytest.raises(NotFound):
            staff_for_admin(chair_b, branch)
        assert staff_for_admin(chair_b, db.session.get(Staff, root_admin)).id == chair_b


def test_a_role_that_does_not_manage_staff_gets_none(app, union):
    chair = make_staff(app, Role.chair, union.root)
    officer = make_staff(app, Role.officer, union.branch_a)
    with app.app_context():
        me = db.session.get(Staff, chair)
        assert staff_accounts(me) == []
        with pytest.raises(NotFound):
            staff_for_admin(officer, me)
        with pytest.raises(NotFound):
            staff_for_admin(999_999, me)
