"""Roster import benchmark: how close does importing a roster come to a raw bulk insert of its rows?

1. Baseline: the same N member rows, their final column values computed beforehand (name, 工号, group,
   the encrypted phone and its two indexes, dates, status, timestamps), written by one Core INSERT
   executemany in one transaction. Run twice (before and after the import, the table emptied each time);
   the faster run counts.
2. The import as staff run it: the file confirmed on the 导入名册 page (`queue_import`, which stores it in
   the job's row) and the background job (`run_import`) reading it, checking every row, resolving every
   group, looking the numbers up, writing the new members and their audit rows, and committing chunk by
   chunk with the job's progress; timed from the confirmation until the job is done. This is the path
   the embedded default runs right after the confirming request commits, and the function a Celery worker
   runs with Redis (the queue's latency is left out).

Prints rows/second for both and their ratio (target >= 0.25); the last line is ``ratio: <x>``. Also prints,
for information, how fast the check (the dry run that the upload answers with) reads the same file.

Uses its own throwaway database: a SQLite file in a temporary directory, or DATABASE_URL when given (its
schema is dropped and rebuilt, so point it at a scratch database). See bench/README.md.

    .venv/bin/python bench/roster_import.py [--count 20000] [--format csv|xlsx]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from backend import create_app  # noqa: E402
from backend.crypto import encrypt  # noqa: E402
from backend.db import unit_of_work, utcnow  # noqa: E402
from backend.extensions import db  # noqa: E402
from backend.members.models import Member  # noqa: E402
from backend.members.operations import create_group, phone_fields  # noqa: E402
from backend.members.roster import TEMPLATE_HEADER, read_rows  # noqa: E402
from backend.members.roster.background import queue_import  # noqa: E402
from backend.members.roster.models import ImportStatus, RosterImport  # noqa: E402
from backend.members.roster.pending import check_file  # noqa: E402
from backend.staff.models import Role, Staff  # noqa: E402
from backend.staff.operations import create_staff  # noqa: E402

BRANCHES, GROUPS_PER_BRANCH = 4, 5
# The members table as plain columns: the baseline binds the final stored values, past the ORM's types.
RAW_COLUMNS = (
    "name", "employee_no", "phone", "phone_index", "phone_last4_index", "group_id", "birthday", "joined_on",
    "status", "created_at", "updated_at",
)  # fmt: skip
RAW_MEMBERS = sa.table("members", *(sa.column(name) for name in RAW_COLUMNS))


def build_app(database_url: str, tmp: Path) -> Any:
    return create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": "bench-secret",
            "DATA_KEY": "bench-data-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": None,  # the job runs in this process right after the confirming commit
            "UPLOAD_DIR": str(tmp / "uploads"),
        }
    )


def reset_database(app: Any) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA public CASCADE"))
                connection.execute(sa.text("CREATE SCHEMA public"))
        upgrade()


def seed(app: Any) -> tuple[int, list[tuple[int, str]]]:
    """A union of a few branches and groups, and its admin: (staff id, [(group id, 所属组织 cell)])."""
    with app.app_context(), unit_of_work():
        root = create_group("基准测试工会", parent=None, staff=None)
        groups = []
        for b in range(BRANCHES):
            branch = create_group(f"第{b + 1}分会", parent=root, staff=None)
            for g in range(GROUPS_PER_BRANCH):
                # The same group names in every branch: the cells name the branch too, as staff write them.
                group = create_group(f"第{g + 1}小组", parent=branch, staff=None)
                groups.append((group.id, f"{branch.name}/{group.name}"))
        staff = create_staff(username="bench", display_name="基准测试", role=Role.admin, scope=root,
                             password="bench-password-1", by=None)  # fmt: skip
        return staff.id, groups


def roster_rows(count: int, groups: list[tuple[int, str]]) -> list[list[Any]]:
    rows = []
    for i in range(count):
        _, cell = groups[i % len(groups)]
        birthday = date(1960 + i % 40, 1 + i % 12, 1 + i % 28).isoformat()
        rows.append([f"职工{i}", f"B{i:06d}", f"139{i:08d}", cell, birthday, "2020-03-01"])
    return rows


def roster_file(rows: list[list[Any]], fmt: str) -> bytes:
    if fmt == "csv":
        out = io.StringIO(newline="")
        csv.writer(out, lineterminator="\r\n").writerows([TEMPLATE_HEADER, *rows])
        return out.getvalue().encode("utf-8-sig")
    import openpyxl

    book = openpyxl.Workbook()
    for row in [TEMPLATE_HEADER, *rows]:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def raw_values(rows: list[list[Any]], groups: list[tuple[int, str]]) -> list[dict[str, Any]]:
    """The rows as the members table stores them: the baseline's work is only the writing."""
    group_of = {cell: group_id for group_id, cell in groups}
    now = utcnow().replace(tzinfo=None)
    values = []
    for name, employee_no, phone, cell, birthday, joined_on in rows:
        fields = phone_fields(phone)
        values.append(
            {
                "name": name,
                "employee_no": employee_no,
                "phone": encrypt(phone),
                "phone_index": fields["phone_index"],
                "phone_last4_index": fields["phone_last4_index"],
                "group_id": group_of[cell],
                "birthday": date.fromisoformat(birthday),
                "joined_on": date.fromisoformat(joined_on),
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
        )
    return values


def empty_members(app: Any) -> None:
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    sa.text("TRUNCATE members, audit_log, roster_imports RESTART IDENTITY CASCADE")
                )
            else:
                for table in ("members", "audit_log", "roster_imports"):
                    connection.execute(sa.text(f"DELETE FROM {table}"))


def baseline(app: Any, values: list[dict[str, Any]]) -> float:
    """Seconds for one executemany INSERT of the final values, and its commit."""
    empty_members(app)
    with app.app_context():
        started = time.perf_counter()
        with unit_of_work() as session:
            session.execute(sa.insert(RAW_MEMBERS), values)
        elapsed = time.perf_counter() - started
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Member)) == len(values)
        db.session.remove()
    return elapsed


def check(app: Any, staff_id: int, data: bytes, filename: str, count: int) -> float:
    """Seconds for the dry run the upload answers with (nothing written)."""
    empty_members(app)
    with app.app_context():
        started = time.perf_counter()
        report = check_file(data, filename, staff=db.session.get(Staff, staff_id))
        elapsed = time.perf_counter() - started
        assert report.created == count and not report.errors, (report.created, report.errors[:3])
        db.session.remove()
    return elapsed


def real_import(app: Any, staff_id: int, data: bytes, filename: str, count: int) -> float:
    """Seconds from the confirmation to the job's end (the job runs right after the commit)."""
    empty_members(app)
    with app.app_context():
        started = time.perf_counter()
        with unit_of_work():
            job_id = queue_import(data, filename, staff=db.session.get(Staff, staff_id)).id
        elapsed = time.perf_counter() - started
        db.session.remove()
        job = db.session.get(RosterImport, job_id)
        assert job.status == ImportStatus.done, (job.status, job.message)
        assert (job.created, job.error_count) == (count, 0), (job.created, job.errors[:3])
        members = db.session.scalar(sa.select(sa.func.count()).select_from(Member))
        assert members == count, members
        db.session.remove()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="new members in the file")
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv", help="the file staff upload")
    args = parser.parse_args()

    import logging

    logging.getLogger().setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="roster-bench-") as tmpdir:
        tmp = Path(tmpdir)
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
        app = build_app(database_url, tmp)
        reset_database(app)
        staff_id, groups = seed(app)
        rows = roster_rows(args.count, groups)
        filename = f"名册.{args.format}"
        data = roster_file(rows, args.format)
        with app.app_context():
            values = raw_values(rows, groups)
            read_started = time.perf_counter()
            read_rows(data, filename)
            reading = time.perf_counter() - read_started
        first = baseline(app, values)
        checked = check(app, staff_id, data, filename, args.count)
        imported = real_import(app, staff_id, data, filename, args.count)
        second = baseline(app, values)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    raw = args.count / min(first, second)
    real = args.count / imported
    database = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    size = f"{args.format} file ({len(data) // 1024} KB)"
    print(f"rows:                  {args.count} new members, {size}, {database}")
    print(f"raw bulk insert:       {raw:8.0f} rows/s  (best of {first:.2f} s, {second:.2f} s)")
    print(f"import (confirm→done): {real:8.0f} rows/s  ({imported:.2f} s; reading the file: {reading:.2f} s)")
    print(f"check (dry run):       {args.count / checked:8.0f} rows/s  ({checked:.2f} s, for information)")
    print("target:                ratio >= 0.25 (import rate / raw bulk insert rate)")
    print(f"ratio: {real / raw:.3f}")


if __name__ == "__main__":
    main()
