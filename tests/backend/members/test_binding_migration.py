"""Migration 0008 (binding proof) on a database of its own, built at 0007 with rows as the product wrote
them then: bindings made by approving a join request count as staff-confirmed, the others wait for staff,
and nothing that hangs off a WeChat account is lost on the way (SQLite included). The session's database is
left alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from backend.extensions import celery, db
from backend.jobs import configure_celery
from tests.conftest import app_on_own_database

SCHEMA = "binding_proof_migration"
T0 = datetime(2025, 1, 1, 8, 0)
APPROVED_AT = datetime(2025, 1, 2, 9, 30)


@pytest.fixture
def old_app(app, emulator, tmp_path_factory) -> Iterator[Flask]:
    with app_on_own_database(emulator, tmp_path_factory, SCHEMA) as application:
        yield application
    configure_celery(celery, app)  # tasks follow whichever app configured Celery last


def _seed_before_binding_proof(connection: sa.Connection) -> None:
    """Account 1 bound by approving its join request, 2 bound by name + 工号, 3 not bound; all logged in."""
    names = ["groups", "staff", "members", "wechat_accounts", "join_requests", "api_tokens"]
    tables = sa.MetaData()
    tables.reflect(connection, only=names)
    groups, staff, members, accounts, requests, tokens = (tables.tables[name] for name in names)
    connection.execute(
        groups.insert(),
        [{"id": 1, "name": "总工会", "parent_id": None, "path": "/1/", "sort_order": 0, "created_at": T0}],
    )
    connection.execute(
        staff.insert(),
        [
            {"id": 7, "username": "officer", "display_name": "干事", "role": "officer", "scope_group_id": 1,
             "password_hash": "x", "is_enabled": True, "created_at": T0, "session_version": 1},
        ],
    )  # fmt: skip
    worker = {"status": "active", "group_id": 1, "created_at": T0, "updated_at": T0}
    connection.execute(
        members.insert(),
        [
            {**worker, "id": 1, "name": "申请入会", "employee_no": "N1"},
            {**worker, "id": 2, "name": "自己绑定", "employee_no": "E2"},
        ],
    )  # fmt: skip
    connection.execute(
        accounts.insert(),
        [
            {"id": 1, "openid": "o1", "member_id": 1, "created_at": T0, "bound_at": APPROVED_AT},
            {"id": 2, "openid": "o2", "member_id": 2, "created_at": T0, "bound_at": T0},
            {"id": 3, "openid": "o3", "member_id": None, "created_at": T0, "bound_at": None},
        ],
    )
    connection.execute(
        requests.insert(),
        [
            {"wechat_account_id": 1, "name": "申请入会", "employee_no": "N1", "status": "approved",
             "created_at": T0, "decided_at": APPROVED_AT, "decided_by_id": 7, "decision_comment": "",
             "member_id": 1},
            {"wechat_account_id": 2, "name": "自己绑定", "employee_no": "E2", "status": "cancelled",
             "created_at": T0, "decided_at": T0, "decided_by_id": None, "decision_comment": "",
             "member_id": None},
        ],
    )  # fmt: skip
    connection.execute(
        tokens.insert(),
        [
            {"token_hash": f"h{n}", "wechat_account_id": n, "created_at": T0, "expires_at": T0}
            for n in (1, 2, 3)
        ],
    )


def test_upgrade_keeps_every_account_and_marks_who_proved_the_binding(old_app):
    with old_app.app_context():
        upgrade(revision="0007")
        with db.engine.begin() as connection:
            _seed_before_binding_proof(connection)
        upgrade(revision="0008")
        with db.engine.connect() as connection:
            proofs = connection.execute(
                sa.text(
                    "SELECT id, binding_proof, binding_confirmed_by_id, binding_confirmed_at"
                    " FROM wechat_accounts ORDER BY id"
                )
            ).all()
            tokens = connection.execute(sa.text("SELECT count(*) FROM api_tokens")).scalar_one()
            requests = connection.execute(sa.text("SELECT count(*) FROM join_requests")).scalar_one()
    assert [(row[0], row[1], row[2]) for row in proofs] == [(1, "staff", 7), (2, None, None), (3, None, None)]
    assert str(proofs[0][3]).startswith("2025-01-02 09:30")
    assert tokens == 3 and requests == 2


def test_the_database_refuses_a_proof_without_a_binding(old_app):
    with old_app.app_context():
        upgrade(revision="0008")
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO wechat_accounts (openid, created_at, binding_proof)"
                    " VALUES ('o9', '2025-01-01 08:00:00', 'phone')"
                )
            )


def test_downgrade_takes_the_columns_and_the_table_away(old_app):
    with old_app.app_context():
        upgrade(revision="0007")
        with db.engine.begin() as connection:
            _seed_before_binding_proof(connection)
        upgrade(revision="0008")
        downgrade(revision="0007")
        with db.engine.connect() as connection:
            inspector = sa.inspect(connection)
            columns = {c["name"] for c in inspector.get_columns("wechat_accounts")}
            has_failures = inspector.has_table("binding_failures")
            tokens = connection.execute(sa.text("SELECT count(*) FROM api_tokens")).scalar_one()
    assert "binding_proof" not in columns and "openid" in columns and not has_failures
    assert tokens == 3
