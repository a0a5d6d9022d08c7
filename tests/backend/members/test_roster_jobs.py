"""A confirmed roster import runs as a background job: committed chunk by chunk, its progress in its
row, resumed after a crash without applying a row twice, fenced against a second run (issue 12, 9)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from backend.audit.models import AuditLog
from backend.db import unit_of_work, utcnow
from backend.errors import NotFound
from backend.extensions import db
from backend.members.models import Member
from backend.members.roster import background, importing
from backend.members.roster.models import RosterImport
from backend.staff.models import Role, Staff
from tests.backend.members.test_roster import csv_file
from tests.factories import count, make_member, make_staff


def rows(n: int) -> list[list[Any]]:
    return [[f"职工{i}", f"J{i:04d}", "", "甲一组", "", ""] for i in range(n)]


def queue(app: Flask, staff_id: int, data: bytes, filename: str = "名册.csv") -> int:
    """Confirms a file the way the admin does: queue_import in one unit of work (the task is sent after)."""
    with app.app_context(), unit_of_work():
        return background.queue_import(data, filename, staff=db.session.get(Staff, staff_id)).id


def job(app: Flask, import_id: int) -> dict[str, Any]:
    with app.app_context():
        found = db.session.get(RosterImport, import_id)
        return {
            **background.progress_of(found),
            "errors_list": found.errors,
            "has_data": found.data is not None,
        }


@pytest.fixture
def officer(app, union) -> int:
    return make_staff(app, Role.officer, union.root)


@pytest.fixture
def held(monkeypatch) -> list[int]:
    """The broker holds the tasks: nothing runs until the test runs it."""
    sent: list[int] = []
    monkeypatch.setattr(background, "_enqueue", sent.append)
    return sent


def run(app: Flask, import_id: int) -> str:
    with app.app_context():
        return background.run_import(import_id)


def test_without_redis_the_job_runs_right_after_the_commit_and_drops_the_file(app, officer):
    import_id = queue(app, officer, csv_file([*rows(3), ["", "J9999", "", "甲一组", "", ""]]))
    state = job(app, import_id)
    assert (state["status"], state["total"], state["done"], state["created"], state["errors"]) == (
        "done",
        4,
        4,
        3,
        1,
    )
    assert state["errors_list"] == [
        {"row_number": 5, "employee_no": "J9999", "name": "", "reasons": ["缺少姓名"]}
    ]
    assert state["text"] == "导入完成：新增 3 人，更新 0 人" and not state["has_data"]
    with app.app_context():
        summary = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "roster.import"))
        assert summary.actor_staff_id == officer and summary.detail["filename"] == "名册.csv"


def test_the_job_waits_queued_until_a_worker_takes_it(app, officer, held):
    import_id = queue(app, officer, csv_file(rows(2)))
    assert held == [import_id]
    state = job(app, import_id)
    assert (state["status"], state["finished"], state["text"]) == ("queued", False, "排队等候中，马上开始……")
    assert count(app, Member) == 0
    assert run(app, import_id) == "done" and count(app, Member) == 2
    assert run(app, import_id) == "skipped"  # a second delivery of the task finds it finished
    assert count(app, Member) == 2


def test_each_chunk_is_committed_with_the_progress_that_describes_it(app, officer, held, monkeypatch):
    """The third chunk fails: the first two stay imported and counted, the job says so and stops."""
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
    monkeypatch.setattr(background, "CHUNK_ROWS", 2)
    seen: list[tuple[int, int]] = []
    original = importing.Importer.apply

    def apply(self, start, stop, progress=None):
        seen.append((job(app, import_id)["done"], count(app, Member)))  # what another connection sees
        if start == 4:
            raise RuntimeError("the database went away")
        return original(self, start, stop, progress)

    monkeypatch.setattr(importing.Importer, "apply", apply)
    import_id = queue(app, officer, csv_file(rows(6)))
    assert run(app, import_id) == "failed"
    assert seen == [(0, 0), (2, 2), (4, 4)]
    state = job(app, import_id)
    assert (state["status"], state["done"], state["created"]) == ("failed", 4, 4)
    assert "已导入 4 行" in state["text"] and not state["has_data"]
    assert count(app, Member) == 4
    with app.app_context():
        summary = db.session.scalar(sa.select(AuditLog.detail).where(AuditLog.action == "roster.import"))
        assert summary["interrupted"] is True and summary["created"] == 4


def test_a_run_that_died_is_resumed_after_its_last_committed_chunk(app, officer, held, monkeypatch):
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
    monkeypatch.setattr(background, "CHUNK_ROWS", 2)
    original = importing.Importer.apply

    def dies(self, start, stop, progress=None):
        if start == 2:
            raise SystemExit("worker killed")  # not an Exception: the run does not get to mark anything
        return original(self, start, stop, progress)

    import_id = queue(app, officer, csv_file([*rows(3), ["", "J9999", "", "甲一组", "", ""], *rows(6)[3:]]))
    with monkeypatch.context() as patch:
        patch.setattr(importing.Importer, "apply", dies)
        with pytest.raises(SystemExit):
            run(app, import_id)
    assert job(app, import_id)["status"] == "running" and count(app, Member) == 2

    with app.app_context():
        assert background.resume_stalled() == 0  # its lease is still live: someone may be running it
    expire_lease(app, import_id)
    with app.app_context():
        assert background.resume_stalled() == 1
    assert held == [import_id, import_id]
    assert run(app, import_id) == "done"
    state = job(app, import_id)
    assert (state["done"], state["created"], state["unchanged"], state["errors"]) == (7, 6, 0, 1)
    assert count(app, Member) == 6
    with app.app_context():
        created = db.session.scalars(sa.select(AuditLog.object_id).where(AuditLog.action == "member.create"))
        assert sorted(created) == sorted(db.session.scalars(sa.select(Member.id)))  # each member once


def expire_lease(app: Flask, import_id: int) -> None:
    with app.app_context(), unit_of_work():
        db.session.execute(
            sa.update(RosterImport)
            .where(RosterImport.id == import_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )


def test_a_run_that_lost_its_lease_stops_and_takes_its_chunk_back(app, officer, held, monkeypatch):
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
    monkeypatch.setattr(background, "CHUNK_ROWS", 2)
    original = importing.Importer.apply

    def overtaken(self, start, stop, progress=None):
        if start == 2:  # meanwhile the job was thought dead and another run claimed it
            with db.engine.begin() as other:
                other.execute(sa.update(RosterImport).values(run_token="someone-else"))
        return original(self, start, stop, progress)

    monkeypatch.setattr(importing.Importer, "apply", overtaken)
    import_id = queue(app, officer, csv_file(rows(4)))
    assert run(app, import_id) == "lost"
    assert count(app, Member) == 2 and job(app, import_id)["done"] == 2


def test_a_queued_job_whose_task_was_lost_is_sent_again(app, officer, held):
    import_id = queue(app, officer, csv_file(rows(1)))
    with app.app_context():
        assert background.resume_stalled() == 0  # just queued: its task is on its way
    with app.app_context(), unit_of_work():
        db.session.execute(
            sa.update(RosterImport).values(
                created_at=utcnow() - background.STALLED_QUEUED - timedelta(seconds=1)
            )
        )
    with app.app_context():
        assert background.resume_stalled() == 1
    assert held == [import_id, import_id]


def test_a_broker_that_is_down_leaves_the_job_queued_and_the_request_whole(app, officer, monkeypatch):
    def down(import_id: int) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(background, "_enqueue", down)
    import_id = queue(app, officer, csv_file(rows(1)))
    assert job(app, import_id)["status"] == "queued" and count(app, Member) == 0


def test_a_file_that_no_longer_reads_fails_the_job_with_the_readers_reason(app, officer, held):
    import_id = queue(app, officer, b"not a spreadsheet", filename="名册.xlsx")
    assert run(app, import_id) == "failed"
    assert "不是有效的 Excel" in job(app, import_id)["text"]


def test_only_the_starter_or_an_admin_may_follow_a_job(app, union, officer, held):
    import_id = queue(app, officer, csv_file(rows(1)))
    other = make_staff(app, Role.officer, union.root)
    admin = make_staff(app, Role.admin, union.root)
    with app.app_context():
        for staff_id in (officer, admin):
            assert background.import_for_staff(import_id, db.session.get(Staff, staff_id)).id == import_id
        with pytest.raises(NotFound):
            background.import_for_staff(import_id, db.session.get(Staff, other))


def test_updating_rows_are_counted_across_chunks(app, union, officer, monkeypatch):
    monkeypatch.setattr(importing, "CHUNK_ROWS", 1)
    monkeypatch.setattr(background, "CHUNK_ROWS", 1)
    make_member(app, union.group_a, name="老王", employee_no="J0000")
    import_id = queue(app, officer, csv_file([["老王", "J0000", "", "乙一组", "", ""], *rows(3)[1:]]))
    state = job(app, import_id)
    assert (state["status"], state["created"], state["updated"], state["done"]) == ("done", 2, 1, 3)
