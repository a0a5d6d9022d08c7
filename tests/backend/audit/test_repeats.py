"""Repeated identical audit rows within a second are written once (issue 12)."""

from __future__ import annotations

from datetime import timedelta

import pytest

import backend.audit.operations as audit_operations
from backend.audit.models import AuditLog
from backend.audit.operations import origin, record
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.members.models import Member
from backend.staff.models import Role, Staff
from tests.factories import count, make_member, make_staff

BROWSER = "Mozilla/5.0 (测试)"


@pytest.fixture
def actor(app, union):
    staff_id = make_staff(app, Role.officer, union.branch_a)
    member_id = make_member(app, union.group_a)
    return staff_id, member_id


@pytest.fixture
def clock(monkeypatch):
    """Moves the audit log's clock: clock(1.5) writes as if 1.5 s after the test began."""
    start = utcnow()

    def set_to(seconds: float) -> None:
        monkeypatch.setattr(audit_operations, "utcnow", lambda: start + timedelta(seconds=seconds))

    set_to(0)
    return set_to


def write(app, actor, action="member.view_phone", *, ip="10.0.0.7", target_id=None, **detail):
    staff_id, member_id = actor
    with app.app_context(), origin(ip, BROWSER), unit_of_work():
        staff = db.session.get(Staff, staff_id)
        record(action, staff=staff, target=db.session.get(Member, target_id or member_id), **detail)


def rows(app):
    return count(app, AuditLog, AuditLog.action.in_(["member.view_phone", "staff.login_failed"]))


def test_a_repeat_within_a_second_is_one_row(app, actor, clock):
    write(app, actor, page="detail")
    clock(0.6)
    write(app, actor, page="detail")
    assert rows(app) == 1


def test_a_repeat_after_a_second_is_a_new_row(app, actor, clock):
    write(app, actor, page="detail")
    clock(1.2)
    write(app, actor, page="detail")
    assert rows(app) == 2


def test_anything_different_is_a_new_row(app, union, actor, clock):
    other_member = make_member(app, union.group_a)
    other_staff = make_staff(app, Role.officer, union.branch_a)
    write(app, actor, page="detail")
    write(app, actor, page="edit")  # detail
    write(app, actor, page="detail", target_id=other_member)  # record
    write(app, actor, page="detail", ip="10.0.0.8")  # origin
    write(app, (other_staff, actor[1]), page="detail")  # actor
    assert rows(app) == 5


def test_a_repeat_in_the_same_transaction_is_one_row(app, actor):
    staff_id, member_id = actor
    with app.app_context(), origin("10.0.0.7", BROWSER), unit_of_work():
        staff, member = db.session.get(Staff, staff_id), db.session.get(Member, member_id)
        first = record("member.view_phone", staff=staff, target=member, page="detail")
        db.session.flush()
        assert record("member.view_phone", staff=staff, target=member, page="detail") is first
        record("member.view_phone", staff=staff, target=member, page="detail")
    assert rows(app) == 1


def test_a_row_of_a_rolled_back_savepoint_does_not_hide_its_repeat(app, actor):
    staff_id, member_id = actor
    with app.app_context(), origin("10.0.0.7", BROWSER), unit_of_work():
        staff, member = db.session.get(Staff, staff_id), db.session.get(Member, member_id)
        with pytest.raises(RuntimeError), db.session.begin_nested():
            record("member.view_phone", staff=staff, target=member, page="detail")
            db.session.flush()
            raise RuntimeError("the step failed")
        record("member.view_phone", staff=staff, target=member, page="detail")
    assert rows(app) == 1


def test_every_failed_password_attempt_is_kept(app, actor):
    write(app, actor, "staff.login_failed", username="guess")
    write(app, actor, "staff.login_failed", username="guess")
    assert rows(app) == 2


def test_the_shell_is_never_folded(app, actor):
    staff_id, member_id = actor
    for _ in range(2):
        with app.app_context(), origin("cli"), unit_of_work():
            staff, member = db.session.get(Staff, staff_id), db.session.get(Member, member_id)
            record("member.view_phone", staff=staff, target=member)
    assert rows(app) == 2
