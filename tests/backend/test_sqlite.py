"""The embedded SQLite default: a transaction takes the write lock when it begins (BEGIN IMMEDIATE)."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from backend.db import unit_of_work
from backend.extensions import db
from tests.conftest import ON_POSTGRES


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite's locking; PostgreSQL locks rows")
def test_a_transaction_holds_the_write_lock_from_its_first_read(app):
    """A deferred transaction that read, then wants to write after another connection wrote, fails at once
    with "database is locked" (busy_timeout cannot help there). Taking the lock up front makes the other
    writer wait its turn instead."""
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with app.app_context(), unit_of_work():
            db.session.execute(sa.text("SELECT count(*) FROM members"))  # a read only
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again once the transaction ended
        other.execute("ROLLBACK")
    finally:
        other.close()
