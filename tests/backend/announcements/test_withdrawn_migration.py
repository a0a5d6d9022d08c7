"""Migration 0009 marks the messages of announcements withdrawn before it as withdrawn, on a database of
its own (built at 0008 with rows as the product wrote them then, upgraded, read back)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from backend.extensions import db
from tests.conftest import app_on_own_database

SCHEMA = "withdrawn_migration"
T0 = datetime(2025, 1, 1, 8, 0)
T1 = datetime(2025, 1, 2, 8, 0)


@pytest.fixture
def old_app(emulator, tmp_path_factory) -> Iterator[Flask]:
    with app_on_own_database(emulator, tmp_path_factory, SCHEMA) as application:
        yield application


def _seed_before_withdrawal(connection: sa.Connection) -> None:
    """Announcement 1 withdrawn at T1, 11 still published; member 1 got both (and a reminder of 1)."""
    tables = sa.MetaData()
    tables.reflect(connection, only=["groups", "staff", "members", "announcements", "notifications"])
    groups, staff, members, announcements, notifications = (
        tables.tables[name] for name in ("groups", "staff", "members", "announcements", "notifications")
    )
    connection.execute(
        groups.insert(),
        {"id": 1, "name": "总工会", "parent_id": None, "path": "/1/", "sort_order": 0, "created_at": T0},
    )
    connection.execute(
        staff.insert(),
        {"id": 1, "username": "chair", "display_name": "主席", "role": "chair", "scope_group_id": 1,
         "password_hash": "x", "is_enabled": True, "created_at": T0, "session_version": 1},
    )  # fmt: skip
    connection.execute(
        members.insert(),
        {"id": 1, "name": "会员", "employee_no": "E1", "group_id": 1, "status": "active", "created_at": T0,
         "updated_at": T0},
    )  # fmt: skip
    common = {"body_html": "<p>x</p>", "summary": "x", "category": "notice", "whole_union": True,
              "pinned": False, "push": True, "author_id": 1, "published_at": T0, "created_at": T0,
              "updated_at": T0}  # fmt: skip
    connection.execute(
        announcements.insert(),
        [
            {**common, "id": 1, "title": "撤回的", "status": "withdrawn", "withdrawn_at": T1},
            {**common, "id": 11, "title": "有效的", "status": "published", "withdrawn_at": None},
        ],
    )
    message = {"member_id": 1, "kind": "announcement", "title": "t", "body": "b", "created_at": T0,
               "wechat_state": "sent", "sent_at": T0, "attempts": 1}  # fmt: skip
    connection.execute(
        notifications.insert(),
        [
            {**message, "dedupe_key": "announcement:1:1"},
            {**message, "dedupe_key": "announcement:1:remind:2025-01-01:1"},
            {**message, "dedupe_key": "announcement:11:1"},
            {**message, "kind": "activity", "dedupe_key": "activity:1:1"},
        ],
    )


def test_upgrade_marks_the_messages_of_announcements_already_withdrawn(old_app):
    with old_app.app_context():
        upgrade(revision="0008")
        with db.engine.begin() as connection:
            _seed_before_withdrawal(connection)
        upgrade(revision="0009")
        with db.engine.connect() as connection:
            marked = dict(
                connection.execute(sa.text("SELECT dedupe_key, withdrawn_at FROM notifications")).all()
            )

    assert {key: value is not None for key, value in marked.items()} == {
        "announcement:1:1": True,
        "announcement:1:remind:2025-01-01:1": True,
        "announcement:11:1": False,  # "announcement:1…" is not announcement 1
        "activity:1:1": False,
    }
    assert str(marked["announcement:1:1"]).startswith("2025-01-02")
