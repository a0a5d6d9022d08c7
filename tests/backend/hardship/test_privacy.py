"""Sensitive values are unreadable in the database (raw columns, a pg_dump), and the hardship code never
changes or deletes audit rows."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import sqlalchemy as sa

from backend.extensions import db
from tests.backend.hardship.helpers import Cast
from tests.conftest import TEST_DATABASE_URL, project_root, requires_postgres

REASON = "独特的病情描述甲乙丙"
INCOME = 3_600_017


def _application(app, union) -> int:
    cast = Cast(app, union)
    return cast.submitted(reason=REASON, household_income_fen=INCOME, requested_amount_fen=123_457)


def test_raw_columns_hold_no_plain_values(app, union):
    application_id = _application(app, union)
    with app.app_context():
        row = db.session.execute(
            sa.text(
                "SELECT reason, household_income_fen, hardship_expenses_fen, household_size,"
                " requested_amount_fen"
                " FROM hardship_applications WHERE id = :id"
            ),
            {"id": application_id},
        ).one()
    assert all(value and value.startswith("gAAAA") for value in row)  # Fernet tokens
    assert REASON not in "".join(row) and str(INCOME) not in "".join(row)


@requires_postgres
def test_pg_dump_shows_no_sensitive_value(app, union):
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    _application(app, union)
    url = (
        sa.make_url(str(TEST_DATABASE_URL)).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    dump = subprocess.run(
        ["pg_dump", "--data-only", "--table=hardship_*", url], capture_output=True, text=True, check=True
    ).stdout
    assert "hardship_applications" in dump and "gAAAA" in dump
    for secret in (REASON, str(INCOME), "123457"):
        assert secret not in dump


def test_hardship_code_never_updates_or_deletes_audit_rows():
    pattern = re.compile(r"(update|delete)\(\s*AuditLog|audit_log|AuditLog\.query")
    for folder in ("backend/hardship", "miniprogram_api", "admin/views"):
        for path in (project_root() / folder).rglob("*hardship*.py"):
            assert not pattern.search(path.read_text("utf-8")), path
    for path in (project_root() / "backend/hardship").rglob("*.py"):
        assert not pattern.search(path.read_text("utf-8")), path
