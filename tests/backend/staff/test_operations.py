"""Staff accounts through backend/staff/operations.py: the rules hold whichever door (form, shell) calls."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.db import unit_of_work
from backend.errors import DuplicateUsername, NotFound, ValidationFailed
from backend.extensions import db
from backend.members.models import Group
from backend.staff.models import Role, Staff
from backend.staff.operations import (
    authenticate_staff,
    change_own_password,
    create_staff,
    set_password,
)
from tests.factories import PASSWORD, change_staff, count, get, make_staff


def _create(app, union, *, by: int | None = None, **fields) -> int:
    values = {"username": "newbie", "display_name": "新干事", "role": Role.officer, "password": PASSWORD}
    values.update(fields)
    with app.app_context(), unit_of_work():
        by_staff = db.session.get(Staff, by) if by is not None else None
        staff = create_staff(scope=db.session.get(Group, union.branch_a), by=by_staff, **values)
        return staff.id


def _login(app, username: str, password: str = PASSWORD) -> int | None:
    """authenticate_staff as the login form calls it; the audit row it writes is committed either way."""
    with app.app_context(), unit_of_work():
        staff = authenticate_staff(username, password)
        return staff.id if staff is not None else None


def _audit(app, action: str, *where) -> list[AuditLog]:
    with app.app_context():
        query = sa.select(AuditLog).where(AuditLog.action == action, *where).order_by(AuditLog.id)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def test_create_staff_keeps_a_trimmed_name_and_audits_who_made_it(app, union):
    admin = make_staff(app, Role.admin, union.root)
    staff_id = _create(app, union, username="  newbie ", display_name=" ", by=admin)
    staff = get(app, Staff, staff_id)
    assert (staff.username, staff.display_name, staff.role, staff.scope_group_id) == (
        "newbie",
        "newbie",
        Role.officer,
        union.branch_a,
    )
    assert staff.password_hash != PASSWORD and staff.check_password(PASSWORD)
    [row] = _audit(app, "staff.create", AuditLog.object_id == staff_id)
    assert (row.actor_staff_id, row.object_id) == (admin, staff_id)
    assert row.detail == {"username": "newbie", "role": "officer", "scope": union.branch_a}


@pytest.mark.parametrize("taken", ["newbie", "NewBie", " NEWBIE "])
def test_create_staff_refuses_a_username_taken_in_any_case(app, union, taken):
    _create(app, union)
    with pytest.raises(DuplicateUsername):
        _create(app, union, username=taken)
    assert count(app, Staff) == 1


def test_create_staff_refuses_a_blank_username(app, union):
    with pytest.raises(ValidationFailed) as refused:
        _create(app, union, username="   ")
    assert refused.value.errors == {"username": ["请填写登录名"]}
    assert count(app, Staff) == 0


def test_passwords_need_at_least_eight_characters(app, union):
    with pytest.raises(ValidationFailed) as refused:
        _create(app, union, password="1234567")
    assert refused.value.errors == {"password": ["密码至少 8 位"]}
    assert count(app, Staff) == 0
    staff_id = _create(app, union, password="12345678")  # exactly the minimum is enough
    with app.app_context(), pytest.raises(ValidationFailed) as refused, unit_of_work():
        staff = db.session.get(Staff, staff_id)
        set_password(staff, "1234567", by=staff)
    assert refused.value.errors == {"password": ["密码至少 8 位"]}
    assert get(app, Staff, staff_id).check_password("12345678")


def test_change_own_password_enforces_the_rule_whatever_the_form_checked(app, union):
    staff_id = make_staff(app, Role.officer, union.branch_a)
    with app.app_context(), pytest.raises(ValidationFailed) as refused, unit_of_work():
        change_own_password(db.session.get(Staff, staff_id), current_password=PASSWORD, new_password="short")
    assert refused.value.errors == {"password": ["密码至少 8 位"]}


def test_only_an_admin_creates_or_changes_other_staff(app, union):
    chair = make_staff(app, Role.chair, union.root)
    other = make_staff(app, Role.officer, union.branch_a)
    with pytest.raises(NotFound):
        _create(app, union, by=chair)
    with pytest.raises(NotFound):
        change_staff(app, other, role=Role.chair, by=chair)
    with app.app_context(), pytest.raises(NotFound), unit_of_work():
        set_password(db.session.get(Staff, other), "a-new-password", by=db.session.get(Staff, chair))
    assert count(app, Staff) == 2
    assert get(app, Staff, other).role == Role.officer and get(app, Staff, other).check_password(PASSWORD)


@pytest.mark.parametrize("change", [{"is_enabled": False}, {"role": Role.chair}], ids=["disable", "demote"])
def test_an_admin_cannot_disable_or_demote_themselves(app, union, change):
    me = make_staff(app, Role.admin, union.root)
    with pytest.raises(ValidationFailed) as refused:
        change_staff(app, me, by=me, **change)
    assert refused.value.errors == {"role": ["不能停用自己的账号或取消自己的管理员身份"]}
    staff = get(app, Staff, me)
    assert (staff.role, staff.is_enabled, staff.session_version) == (Role.admin, True, 1)
    change_staff(app, me, display_name="我", by=me)  # anything else about themselves they may change
    assert get(app, Staff, me).display_name == "我"


@pytest.mark.parametrize(
    ("change", "bumped"),
    [
        ({"role": Role.chair}, True),
        ({"scope_id": "branch_b"}, True),
        ({"is_enabled": False}, True),
        ({"display_name": "改名"}, False),
    ],
    ids=["role", "scope", "disabled", "display_name"],
)
def test_changing_rights_ends_open_sessions_and_renaming_does_not(app, union, change, bumped):
    admin = make_staff(app, Role.admin, union.root)
    staff_id = make_staff(app, Role.officer, union.branch_a)
    before = get(app, Staff, staff_id).get_id()
    if "scope_id" in change:
        change = {"scope_id": getattr(union, change["scope_id"])}
    change_staff(app, staff_id, by=admin, **change)
    staff = get(app, Staff, staff_id)
    assert staff.session_version == (2 if bumped else 1)
    assert (staff.get_id() != before) is bumped  # the id Flask-Login keeps in the session cookie
    [row] = _audit(app, "staff.update")
    assert row.actor_staff_id == admin and row.object_id == staff_id
    assert row.detail["fields"] == [{"scope_id": "scope_group_id"}.get(key, key) for key in change]


def test_saving_without_changes_writes_no_audit_row(app, union):
    admin = make_staff(app, Role.admin, union.root)
    staff_id = make_staff(app, Role.officer, union.branch_a)
    change_staff(app, staff_id, by=admin)
    assert get(app, Staff, staff_id).session_version == 1
    assert _audit(app, "staff.update") == []


def test_a_new_password_ends_open_sessions_and_replaces_the_old_one(app, union):
    admin = make_staff(app, Role.admin, union.root)
    staff_id = make_staff(app, Role.officer, union.branch_a, username="alice")
    with app.app_context(), unit_of_work():
        set_password(db.session.get(Staff, staff_id), "brand-new-pass", by=db.session.get(Staff, admin))
    assert get(app, Staff, staff_id).session_version == 2
    assert _login(app, "alice") is None
    assert _login(app, "alice", "brand-new-pass") == staff_id
    [row] = _audit(app, "staff.password")
    assert (row.actor_staff_id, row.object_id) == (admin, staff_id)


def test_authenticate_staff_finds_the_name_in_any_case_and_records_the_login(app, union):
    staff_id = make_staff(app, Role.officer, union.branch_a, username="Alice")
    assert get(app, Staff, staff_id).last_login_at is None
    assert _login(app, " alice ") == staff_id
    assert get(app, Staff, staff_id).last_login_at is not None
    [row] = _audit(app, "staff.login")
    assert (row.actor_staff_id, row.object_id) == (staff_id, staff_id)
    assert _audit(app, "staff.login_failed") == []


def test_authenticate_staff_audits_every_failure(app, union):
    alice = make_staff(app, Role.officer, union.branch_a, username="alice")
    bob = make_staff(app, Role.officer, union.branch_a, username="bob")
    change_staff(app, bob, is_enabled=False, by=make_staff(app, Role.admin, union.root))

    assert _login(app, "alice", "wrong-password") is None
    assert _login(app, "nobody") is None
    assert _login(app, "bob") is None  # the right password of a disabled account
    failed = _audit(app, "staff.login_failed")
    # The wrong password is put on alice's record; an unknown or disabled name on nobody's.
    assert [(row.actor_staff_id, row.detail["username"]) for row in failed] == [
        (alice, "alice"),
        (None, "nobody"),
        (None, "bob"),
    ]
    assert _audit(app, "staff.login") == []
    assert get(app, Staff, alice).last_login_at is None and get(app, Staff, bob).last_login_at is None
