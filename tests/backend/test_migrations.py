"""The migrations build exactly the schema the models describe (on SQLite, and on PostgreSQL in CI)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backend.db import render_item
from backend.extensions import db


def test_models_and_migrations_agree(app):
    # The session's schema was built by `flask db upgrade` (tests/conftest.py); autogenerate against it
    # must find nothing to add, drop or alter.
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_item": render_item}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_audit_log_cannot_be_changed(app):
    import pytest
    import sqlalchemy as sa

    from backend.audit.models import AuditLog, AuditLogIsAppendOnly
    from backend.audit.operations import record
    from backend.db import unit_of_work

    with app.app_context():
        with unit_of_work():
            row = record("test.event", note="x")
        row = db.session.get(AuditLog, row.id)
        row.action = "tampered"
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.flush()
        db.session.rollback()
        if db.engine.dialect.name == "postgresql":
            # Below the ORM too: the database itself refuses.
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as connection:
                connection.execute(sa.text("DELETE FROM audit_log"))


def test_audit_log_update_is_still_refused_by_the_database_after_the_last_migration(app):
    # 0006 turns the append-only trigger off for its backfill; it must be on again at head.
    import pytest
    import sqlalchemy as sa

    from backend.audit.operations import record
    from backend.db import unit_of_work

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the append-only trigger exists on PostgreSQL only")
        with unit_of_work():
            record("test.event", note="x")
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as connection:
            connection.execute(sa.text("UPDATE audit_log SET scope_path = '/'"))
