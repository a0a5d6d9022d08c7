"""Searching the member list by the last four digits of a phone (issue 12, point 9), through a keyed
index of its own: members.phone_last4_index, filled on every write and by `flask reindex-phones`."""

from __future__ import annotations

import hashlib
import hmac

import sqlalchemy as sa

from backend.crypto import blind_index, last4_index
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Member
from backend.members.operations import update_member
from backend.members.queries import search_members
from backend.staff.models import Role, Staff
from tests.factories import make_member, make_staff


def found(app, q: str) -> list[str]:
    with app.app_context():
        staff = db.session.scalar(sa.select(Staff))
        return [m.employee_no for m in db.session.scalars(search_members(staff, q=q))]


def stored_index(app, member_id: int) -> str | None:
    with app.app_context():
        return db.session.execute(
            sa.text("SELECT phone_last4_index FROM members WHERE id = :id"), {"id": member_id}
        ).scalar()


def test_four_digits_find_the_members_whose_phone_ends_with_them(app, union):
    make_staff(app, Role.officer, union.root)
    make_member(app, union.group_a, name="张三", employee_no="E001", phone="13800005678")
    make_member(app, union.group_b, name="李四", employee_no="E002", phone="13900005678")
    make_member(app, union.group_a, name="王五", employee_no="E003", phone="13800001234")
    make_member(app, union.group_a, name="赵六", employee_no="E004", phone=None)
    assert found(app, "5678") == ["E001", "E002"]
    assert found(app, "1234") == ["E003"]
    assert found(app, "0000") == []


def test_the_index_is_keyed_and_its_own(app, union):
    member_id = make_member(app, union.group_a, phone="13800005678")
    index = stored_index(app, member_id)
    with app.app_context():
        assert index == last4_index("5678") == last4_index("13800005678")
        assert index != blind_index("5678")[: len(index)]  # not the full-number index of the digits
    unkeyed = {
        hashlib.sha256(b"5678").hexdigest()[:16],
        hmac.new(b"", b"5678", hashlib.sha256).hexdigest()[:16],
    }
    assert index not in unkeyed and "5678" not in index


def test_a_changed_or_removed_phone_moves_the_index(app, union):
    make_staff(app, Role.officer, union.root)
    member_id = make_member(app, union.group_a, employee_no="E001", phone="13800005678")
    with app.app_context(), unit_of_work():
        member = db.session.get(Member, member_id)
        update_member(
            member,
            staff=None,
            name=member.name,
            employee_no=member.employee_no,
            phone="13800004321",
            birthday=None,
            joined_on=member.joined_on,
        )
    assert found(app, "5678") == [] and found(app, "4321") == ["E001"]


def test_reindex_phones_fills_the_index_of_members_stored_before_it(app, union):
    """The migration cannot compute the index (the key is not in the database): the command does."""
    make_staff(app, Role.officer, union.root)
    old = make_member(app, union.group_a, employee_no="E001", phone="13800005678")
    make_member(app, union.group_a, employee_no="E002", phone=None)
    with app.app_context(), unit_of_work():
        db.session.execute(sa.text("UPDATE members SET phone_last4_index = NULL"))
    assert found(app, "5678") == []
    result = app.test_cli_runner().invoke(args=["reindex-phones", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "members：补齐索引 1 行" in result.output
    assert found(app, "5678") == ["E001"] and stored_index(app, old) is not None
    again = app.test_cli_runner().invoke(args=["reindex-phones"])
    assert "members：补齐索引 0 行" in again.output


def test_rotate_data_key_rebuilds_it_under_a_new_index_key(app, union, monkeypatch):
    make_staff(app, Role.officer, union.root)
    make_member(app, union.group_a, employee_no="E001", phone="13800005678")
    monkeypatch.setitem(app.config, "DATA_INDEX_KEY", "a-new-index-key")
    assert found(app, "5678") == []
    result = app.test_cli_runner().invoke(args=["rotate-data-key"])
    assert result.exit_code == 0, result.output
    assert found(app, "5678") == ["E001"]
