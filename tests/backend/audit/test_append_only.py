"""The audit log is append-only in the ORM: a row is never changed nor deleted through the session."""

from __future__ import annotations

import pytest

from backend.audit.models import AuditLog, AuditLogIsAppendOnly
from backend.audit.operations import record
from backend.db import unit_of_work
from backend.extensions import db


def test_an_audit_row_cannot_be_deleted_through_the_session(app):
    with app.app_context():
        with unit_of_work():
            row = record("test.event", note="x")
        row_id = row.id
        db.session.delete(db.session.get(AuditLog, row_id))
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.flush()
        db.session.rollback()
        assert db.session.get(AuditLog, row_id) is not None
