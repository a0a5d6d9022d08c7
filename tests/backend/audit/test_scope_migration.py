"""Migration 0006 places the audit rows written before it (audit_log.scope_path), on a database of its own.

Built at revision 0005 with rows as the product wrote them then, upgraded, read back; on PostgreSQL the
append-only trigger is back on afterwards. The session's database is left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from backend.extensions import db
from tests.conftest import ON_POSTGRES, app_on_own_database

SCHEMA = "audit_scope_migration"
T0 = datetime(2025, 1, 1, 8, 0)
ROOT, BRANCH_A, BRANCH_B = "/1/", "/1/2/", "/1/3/"


def at(hour: int) -> datetime:
    return T0 + timedelta(hours=hour)


@pytest.fixture
def old_app(emulator, tmp_path_factory) -> Iterator[Flask]:
    with app_on_own_database(emulator, tmp_path_factory, SCHEMA) as application:
        yield application


def _seed_at_0005(connection: sa.Connection) -> dict[str, int]:
    """groups 1 (root) → 2 (A), 3 (B); staff and workers, some since moved; their rows. Ids by name."""
    tables = sa.MetaData()
    tables.reflect(connection, only=["groups", "staff", "members", "group_changes", "audit_log"])
    groups, staff, members, moves, log = (
        tables.tables[name] for name in ("groups", "staff", "members", "group_changes", "audit_log")
    )
    connection.execute(
        groups.insert(),
        [
            {"id": 1, "name": "总工会", "parent_id": None, "path": ROOT, "sort_order": 0, "created_at": T0},
            {"id": 2, "name": "甲分会", "parent_id": 1, "path": BRANCH_A, "sort_order": 0, "created_at": T0},
            {"id": 3, "name": "乙分会", "parent_id": 1, "path": BRANCH_B, "sort_order": 0, "created_at": T0},
        ],
    )
    person = {"password_hash": "x", "is_enabled": True, "created_at": T0, "session_version": 1}
    # "moved" worked in branch B (or across the union: nothing recorded which) and was moved to A at hour 3.
    connection.execute(
        staff.insert(),
        [
            {**person, "id": 1, "username": "admin", "display_name": "管理员", "role": "admin",
             "scope_group_id": 1},
            {**person, "id": 2, "username": "steady", "display_name": "甲干事", "role": "officer",
             "scope_group_id": 2},
            {**person, "id": 3, "username": "moved", "display_name": "调动干事", "role": "officer",
             "scope_group_id": 2},
        ],
    )  # fmt: skip
    worker = {"status": "active", "created_at": T0, "updated_at": T0}
    connection.execute(
        members.insert(),
        [
            {**worker, "id": 1, "name": "未转会", "employee_no": "E1", "group_id": 3},
            {**worker, "id": 2, "name": "转会一次", "employee_no": "E2", "group_id": 2},  # B → A at hour 5
            {**worker, "id": 3, "name": "转会两次", "employee_no": "E3", "group_id": 1},  # B → A → root
        ],
    )
    connection.execute(
        moves.insert(),
        [
            {"member_id": 2, "from_group_id": 3, "to_group_id": 2, "changed_at": at(5), "reason": ""},
            {"member_id": 3, "from_group_id": 3, "to_group_id": 2, "changed_at": at(2), "reason": ""},
            {"member_id": 3, "from_group_id": 2, "to_group_id": 1, "changed_at": at(4), "reason": ""},
        ],
    )
    rows = {
        "steady officer": {"at": at(1), "actor_staff_id": 2},
        "admin renames steady": {
            "at": at(2), "actor_staff_id": 1, "action": "staff.update", "object_type": "staff",
            "object_id": 2, "detail": {"fields": ["display_name"]},
        },
        "moved officer before": {"at": at(2), "actor_staff_id": 3},
        "admin moves officer": {
            "at": at(3), "actor_staff_id": 1, "action": "staff.update", "object_type": "staff",
            "object_id": 3, "detail": {"fields": ["role", "scope_group_id"]},
        },
        "moved officer after": {"at": at(4), "actor_staff_id": 3},
        "worker never moved": {"at": at(1), "actor_member_id": 1},
        "worker before move": {"at": at(1), "actor_member_id": 2},
        "worker after move": {"at": at(6), "actor_member_id": 2},
        "worker before two moves": {"at": at(1), "actor_member_id": 3},
        "worker between moves": {"at": at(3), "actor_member_id": 3},
        "worker gone": {"at": at(1), "actor_member_id": 99},
        "shell": {"at": at(1), "ip": "cli"},
    }  # fmt: skip
    ids = {}
    for name, values in rows.items():
        row = {"action": "test.event", "object_type": "", "detail": {}, "ip": "", "user_agent": "", **values}
        ids[name] = connection.execute(log.insert().returning(log.c.id), row).scalar_one()
    return ids


def test_upgrade_places_earlier_rows_as_best_the_data_allows(old_app):
    with old_app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as connection:
            ids = _seed_at_0005(connection)
        upgrade(revision="0006")
        with db.engine.connect() as connection:
            placed = dict(connection.execute(sa.text("SELECT id, scope_path FROM audit_log")).all())

    assert {name: placed[row_id] for name, row_id in ids.items()} == {
        "steady officer": BRANCH_A,  # renaming is no move
        "admin renames steady": ROOT,
        "moved officer before": None,  # where they stood then is unknown: the whole union only
        "admin moves officer": ROOT,
        "moved officer after": BRANCH_A,
        "worker never moved": BRANCH_B,
        "worker before move": BRANCH_B,  # from the 转会 history, not where they are now
        "worker after move": BRANCH_A,
        "worker before two moves": BRANCH_B,  # the group left by the first move after the row
        "worker between moves": BRANCH_A,
        "worker gone": None,
        "shell": None,
    }


@pytest.mark.skipif(not ON_POSTGRES, reason="the append-only trigger exists on PostgreSQL only")
def test_the_append_only_trigger_is_on_again_after_the_upgrade(old_app):
    with old_app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as connection:
            _seed_at_0005(connection)
        upgrade(revision="0006")
        with db.engine.connect() as connection:
            enabled = connection.execute(
                sa.text(
                    "SELECT tgenabled FROM pg_trigger"
                    " WHERE tgname = 'audit_log_append_only' AND tgrelid = 'audit_log'::regclass"
                )
            ).scalar_one()
        assert enabled == "O"  # fires on every ordinary UPDATE and DELETE
        for change in ("UPDATE audit_log SET action = 'tampered'", "DELETE FROM audit_log"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as connection:
                connection.execute(sa.text(change))


def test_downgrade_takes_the_column_away(old_app):
    with old_app.app_context():
        upgrade(revision="0006")
        downgrade(revision="0005")
        with db.engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("audit_log")}
        assert "scope_path" not in columns and "action" in columns
