"""Operator commands, as an IT person runs them."""

from __future__ import annotations

import sqlalchemy as sa

from backend.extensions import db
from backend.members.models import Group, Member
from backend.staff.models import Staff
from tests.factories import count


def test_create_staff_on_an_empty_database_creates_the_union_too(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-staff",
            "boss",
            "--role",
            "admin",
            "--name",
            "张主任",
            "--union-name",
            "某某公司工会",
            "--password",
            "long-enough-1",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "系统管理员" in result.output
    with app.app_context():
        staff = db.session.scalar(sa.select(Staff).where(Staff.username == "boss"))
        assert staff.scope.name == "某某公司工会" and staff.scope.parent_id is None
        assert staff.check_password("long-enough-1") and staff.password_hash != "long-enough-1"


def test_create_staff_refuses_a_short_password_and_a_taken_name(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["create-staff", "a", "--password", "short"]).exit_code != 0
    assert runner.invoke(args=["create-staff", "a", "--password", "long-enough-1"]).exit_code == 0
    again = runner.invoke(args=["create-staff", "A", "--password", "long-enough-1"])
    assert again.exit_code != 0
    assert count(app, Staff) == 1


def test_seed_demo_loads_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "admin" in first.output and "demo12345" in first.output
    assert count(app, Member) >= 30
    assert count(app, Group, Group.parent_id.isnot(None), Group.path.like("/%/%/")) >= 3
    roles = {staff.role.value for staff in _all_staff(app)}
    assert roles == {"admin", "chair", "officer", "group_leader"}
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "未重复载入" in again.output


def test_run_periodic_runs(app):
    result = app.test_cli_runner().invoke(args=["run-periodic"])
    assert result.exit_code == 0, result.output
    assert "发布定时公告 0 条" in result.output


def _all_staff(app):
    with app.app_context():
        return db.session.scalars(sa.select(Staff)).all()
