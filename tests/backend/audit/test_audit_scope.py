"""审计日志 by place: a row stays with the part of the union it was written in, whoever moves later."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.audit.operations import record
from backend.audit.queries import AuditFilters, audit_entries, staff_choices
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Group, Member
from backend.members.operations import change_group, create_member
from backend.staff.models import Role, Staff
from backend.staff.operations import update_staff
from tests.admin.conftest import html
from tests.factories import Union, auth, bound_member, change_staff, make_staff, staff_login


def add_member(app, officer_id: int, group_id: int, employee_no: str) -> None:
    """The officer adds a member: the row names the employee number (what a leak would show)."""
    with app.app_context(), unit_of_work():
        officer = db.session.get(Staff, officer_id)
        create_member(
            staff=officer, name="职工", employee_no=employee_no, group=db.session.get(Group, group_id)
        )


def employee_numbers_seen(app, viewer_id: int) -> set[str]:
    with app.app_context():
        viewer = db.session.get(Staff, viewer_id)
        query = audit_entries(viewer, AuditFilters(action="member.create"))
        return {row.detail["employee_no"] for row in db.session.scalars(query)}


def actions_seen(app, viewer_id: int, member_id: int) -> list[str]:
    """The actions of one worker that this viewer reads, oldest first."""
    with app.app_context():
        viewer = db.session.get(Staff, viewer_id)
        query = audit_entries(viewer, AuditFilters()).where(AuditLog.actor_member_id == member_id)
        return [row.action for row in reversed(db.session.scalars(query).all())]


@pytest.mark.parametrize("first_scope", ["root", "branch_b"])
def test_an_officer_moved_into_a_branch_does_not_bring_earlier_rows(app, union, first_scope):
    admin = make_staff(app, Role.admin, union.root)
    whole, chair_a, chair_b = (
        make_staff(app, Role.chair, scope) for scope in (union.root, *_branches(union))
    )
    officer = make_staff(app, Role.officer, getattr(union, first_scope))
    add_member(app, officer, union.group_b, "B-BEFORE")

    change_staff(app, officer, scope_id=union.branch_a, by=admin)
    add_member(app, officer, union.group_a, "A-AFTER")

    assert employee_numbers_seen(app, chair_a) == {"A-AFTER"}
    assert employee_numbers_seen(app, chair_b) == ({"B-BEFORE"} if first_scope == "branch_b" else set())
    assert employee_numbers_seen(app, whole) == {"B-BEFORE", "A-AFTER"}


def test_a_branch_chair_can_still_pick_an_officer_who_moved_away(app, union):
    admin = make_staff(app, Role.admin, union.root)
    chair_a, chair_b = (make_staff(app, Role.chair, scope) for scope in _branches(union))
    officer = make_staff(app, Role.officer, union.branch_b)
    add_member(app, officer, union.group_b, "B-BEFORE")
    change_staff(app, officer, scope_id=union.branch_a, by=admin)

    with app.app_context():
        for chair in (chair_a, chair_b):
            assert officer in [s.id for s in staff_choices(db.session.get(Staff, chair))]
        assert admin not in [s.id for s in staff_choices(db.session.get(Staff, chair_b))]


def test_a_worker_who_moves_leaves_their_rows_with_the_branch_they_were_in(app, client, emu, union):
    whole, chair_a, chair_b = (
        make_staff(app, Role.chair, scope) for scope in (union.root, *_branches(union))
    )
    member_id, token = bound_member(app, client, emu, union.group_b)  # member.bind, written in branch B
    assert client.get("/api/v1/me/export", headers=auth(token)).status_code == 200

    with app.app_context(), unit_of_work():
        change_group(db.session.get(Member, member_id), db.session.get(Group, union.group_a), staff=None)
    assert client.get("/api/v1/me/export", headers=auth(token)).status_code == 200

    assert actions_seen(app, chair_b, member_id) == ["member.bind", "member.data_exported"]
    assert actions_seen(app, chair_a, member_id) == ["member.data_exported"]
    assert actions_seen(app, whole, member_id) == ["member.bind", *["member.data_exported"] * 2]


def test_the_branch_chair_page_shows_only_what_was_written_in_the_branch(app, union):
    admin = make_staff(app, Role.admin, union.root)
    officer = make_staff(app, Role.officer, union.root)
    add_member(app, officer, union.group_b, "B-BEFORE")
    change_staff(app, officer, scope_id=union.branch_a, by=admin)
    add_member(app, officer, union.group_a, "A-AFTER")
    make_staff(app, Role.chair, union.branch_a, username="chair_a_page")

    chair = app.test_client()
    assert staff_login(chair, "chair_a_page").status_code == 302
    page = html(chair.get("/admin/audit/?action=member.create"))
    assert "A-AFTER" in page and "B-BEFORE" not in page


def test_rows_are_placed_as_the_actor_stood_when_writing(app, union):
    admin_id = make_staff(app, Role.admin, union.root)
    officer_id = make_staff(app, Role.officer, union.branch_a)
    with app.app_context(), unit_of_work():
        paths = {g.id: g.path for g in db.session.scalars(sa.select(Group))}
        admin, officer = db.session.get(Staff, admin_id), db.session.get(Staff, officer_id)
        rows = {
            "staff": record("test.staff", staff=officer),
            "shell": record("test.shell"),
            "unknown worker": record("test.worker", member_id=987654),
        }
        db.session.flush()
        ids = {name: row.id for name, row in rows.items()}
        # An admin narrowing their own scope did it with the whole union's rights: the row stays there.
        assert admin.scope.path == paths[union.root]  # loaded, as every admin request has it
        update_staff(
            admin,
            display_name=admin.display_name,
            role=admin.role,
            scope=db.session.get(Group, union.branch_b),
            is_enabled=True,
            by=admin,
        )
    with app.app_context():
        stored = {name: db.session.get(AuditLog, row_id).scope_path for name, row_id in ids.items()}
        own = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "staff.update")).one()
        assert own.scope_path == paths[union.root]
    assert stored == {"staff": paths[union.branch_a], "shell": None, "unknown worker": None}


def _branches(union: Union) -> tuple[int, int]:
    return union.branch_a, union.branch_b
