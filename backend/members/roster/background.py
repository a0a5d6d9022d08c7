"""The confirmed import as a background job: queued by the door, run by a worker a chunk at a time.

How a job travels:

1. **queue** (`queue_import`, in the request that confirms): a `RosterImport` row holding the file; once
   that commits, a task is sent (backend/jobs.py). Without Redis the task runs eagerly right after the
   commit, in the web process, so the embedded default imports before the page answers; with Redis a
   worker takes it and the page polls the row for progress.
2. **claim**: the run stamps the row with a token of its own and a lease (an atomic conditional UPDATE),
   so two deliveries of one task never run it side by side.
3. **apply**: CHUNK_ROWS rows at a time, each chunk committed together with the counts, errors and
   `done` that describe it, and the lease renewed. Every write of the row is fenced by the run's token:
   a run that lost its lease rolls its chunk back and stops.
4. **finish**: the last chunk also writes the summary audit row, marks the job done and drops the file.

A run that dies (a worker killed, a machine lost) leaves the row ``running`` with an expired lease;
a job whose task never left (the broker was down at commit) stays ``queued``. `resume_stalled` (celery
beat every minute, or `flask run-periodic`) sends both again, and the next run continues after the last
committed chunk: rows already applied are not applied twice, and the report keeps their outcome.

Semantics that differ from one import in one request: the rows of committed chunks stay even if a later
chunk fails (the job is then ``failed`` with the rows it did import counted; the same file imported again
finishes the rest, rows already imported being unchanged), and members added by the first chunks are on
the roster while the rest is still running.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.audit.bulk import current_origin
from backend.audit.operations import origin, record
from backend.db import after_commit, unit_of_work, utcnow
from backend.errors import DomainError, NotFound, PermissionDenied
from backend.extensions import db
from backend.members.roster.importing import CHUNK_ROWS, Importer, ImportReport, RowError
from backend.members.roster.models import ImportStatus, RosterImport
from backend.members.roster.reading import read_rows
from backend.staff.models import Staff
from backend.staff.permissions import Permission

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # renewed by every chunk; a chunk takes seconds
STALLED_QUEUED = timedelta(minutes=1)  # a queued job no worker has taken by then is sent again
INTERRUPTED = (
    "导入中途出错而停止：已导入 {done} 行（见下方统计），请重新上传同一文件导入其余各行（已导入的行不会重复）"
)
_T = RosterImport.__table__

# How to send one import task, handed over by backend/jobs.py (which imports this module, so this
# module must not import it back): enqueue(import_id).
_enqueue: Callable[[int], object] | None = None


def set_import_enqueuer(enqueue: Callable[[int], object]) -> None:
    global _enqueue
    _enqueue = enqueue


class LostLease(RuntimeError):
    """Another run holds the job now (this one was too slow, or was thought dead)."""


# --- the door's side -----------------------------------------------------------------------------


def queue_import(data: bytes, filename: str, *, staff: Staff) -> RosterImport:
    """A confirmed file, queued; the task is sent once the caller's transaction commits. Flushes."""
    if not (staff.can(Permission.import_roster) and staff.can(Permission.edit_members)):
        raise PermissionDenied("您没有导入会员名册的权限")
    where = current_origin()
    job = RosterImport(
        staff_id=staff.id, filename=filename[:255], data=data, ip=where.ip, user_agent=where.user_agent
    )
    db.session.add(job)
    db.session.flush()
    job_id = job.id
    after_commit(db.session, lambda: dispatch(job_id))
    return job


def import_for_staff(import_id: int, staff: Staff) -> RosterImport:
    """The job, if this staff member may follow it; anyone else's is "not there"."""
    job = db.session.get(RosterImport, import_id)
    if job is None or not job.visible_to(staff):
        raise NotFound()
    return job


def recent_imports(staff: Staff, limit: int = 5) -> list[RosterImport]:
    query = sa.select(RosterImport).where(RosterImport.staff_id == staff.id)
    return list(db.session.scalars(query.order_by(RosterImport.id.desc()).limit(limit)))


def report_of(job: RosterImport) -> ImportReport:
    return ImportReport(
        total=job.total,
        created=job.created,
        updated=job.updated,
        unchanged=job.unchanged,
        errors=[RowError(**e) for e in job.errors or []],
    )


def progress_of(job: RosterImport) -> dict[str, Any]:
    """What the progress page shows and roster.js polls: the counts, and a sentence for staff."""
    percent = job.done * 100 // job.total if job.total else 0
    if job.status == ImportStatus.queued:
        text = "排队等候中，马上开始……"
    elif job.status == ImportStatus.running:
        text = f"已处理 {job.done} / {job.total} 行（{percent}%）" if job.total else "正在读取文件……"
    elif job.status == ImportStatus.done:
        text = f"导入完成：新增 {job.created} 人，更新 {job.updated} 人"
    else:
        text = job.message
    return {
        "status": job.status.value,
        "label": job.status_label,
        "finished": job.finished,
        "total": job.total,
        "done": job.done,
        "percent": percent,
        "created": job.created,
        "updated": job.updated,
        "unchanged": job.unchanged,
        "errors": job.error_count,
        "text": text,
    }


def dispatch(import_id: int) -> None:
    """Sends the task; a broker that is down never fails the request that already committed (the job
    stays queued and `resume_stalled` sends it again)."""
    if _enqueue is None:
        log.error("no roster import enqueuer registered; import %s stays queued", import_id)
        return
    try:
        _enqueue(import_id)
    except Exception:
        log.exception("could not send roster import %s; it stays queued until resumed", import_id)


def resume_stalled() -> int:
    """Sends again the jobs nobody is running: queued too long, or running with an expired lease."""
    now = utcnow()
    with unit_of_work():
        ids = list(
            db.session.scalars(
                sa.select(RosterImport.id).where(
                    sa.or_(
                        sa.and_(
                            RosterImport.status == ImportStatus.queued,
                            RosterImport.created_at < now - STALLED_QUEUED,
                        ),
                        sa.and_(RosterImport.status == ImportStatus.running, RosterImport.lease_until < now),
                    )
                )
            )
        )
    for import_id in ids:
        dispatch(import_id)
    return len(ids)


# --- the worker's side ---------------------------------------------------------------------------


def run_import(import_id: int) -> str:
    """The task: claims the job and runs it to the end (or resumes it); the status it left it in.

    Never raises for a failing import: the job is marked failed with what it did, and the error logged.
    """
    token = _claim(import_id)
    if token is None:
        return "skipped"  # finished already, or another run holds a live lease
    with _objects_kept_across_commits(db.session()):
        try:
            return _run(import_id, token)
        except LostLease:
            log.warning("roster import %s: lease lost to another run; stopped", import_id)
            return "lost"
        except DomainError as exc:  # the file no longer reads, the staff member may no longer import …
            _fail(import_id, token, exc.message)
        except Exception:
            log.exception("roster import %s failed", import_id)
            _fail(import_id, token, None)
    return ImportStatus.failed.value


def _claim(import_id: int) -> str | None:
    token, now = secrets.token_hex(16), utcnow()
    free = sa.or_(
        _T.c.status == ImportStatus.queued.value,
        sa.and_(_T.c.status == ImportStatus.running.value, _T.c.lease_until < now),
    )
    with unit_of_work() as session:
        result = session.execute(
            sa.update(_T)
            .where(_T.c.id == import_id, free)
            .values(
                status=ImportStatus.running.value, run_token=token, lease_until=now + LEASE, updated_at=now
            )
        )
    return token if result.rowcount == 1 else None


def _run(import_id: int, token: str) -> str:
    with unit_of_work():
        job = db.session.get(RosterImport, import_id)
        assert job is not None
        staff, filename, ip, user_agent = job.staff, job.filename, job.ip, job.user_agent
        rows = read_rows(job.data or b"", filename)
        report, done = report_of(job), job.done
        importer = Importer(rows, staff=staff, report=report)
        _save(import_id, token, total=importer.total)
    with origin(ip, user_agent):
        start = done
        while start < importer.total:
            stop = min(start + CHUNK_ROWS, importer.total)
            errors_before = len(report.errors)
            with unit_of_work():
                importer.apply(start, stop)
                last = stop == importer.total
                if last:
                    importer.finish(filename=filename)
                _save(import_id, token, done=stop, **_counts(report, errors_before), **_finished(last))
            start = stop
        if importer.total == 0:  # nothing to read (cannot happen for a checked file, but never hang)
            with unit_of_work():
                _save(import_id, token, **_finished(True))
    return ImportStatus.done.value


def _counts(report: ImportReport, errors_before: int) -> dict[str, Any]:
    counts: dict[str, Any] = {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
    }
    counts["error_count"] = len(report.errors)
    if len(report.errors) != errors_before:  # the list is rewritten only when it grew
        counts["errors"] = [
            {"row_number": e.row_number, "employee_no": e.employee_no, "name": e.name, "reasons": e.reasons}
            for e in report.errors
        ]
    return counts


def _finished(last: bool) -> dict[str, Any]:
    if not last:
        return {}
    return {"status": ImportStatus.done.value, "finished_at": utcnow(), "data": None, "run_token": None}


def _save(import_id: int, token: str, **values: Any) -> None:
    """Writes the job's row, fenced by the run's token; raises LostLease if another run holds it."""
    now = utcnow()
    result = db.session.execute(
        sa.update(_T)
        .where(_T.c.id == import_id, _T.c.run_token == token)
        .values(**values, lease_until=now + LEASE, updated_at=now)
    )
    if result.rowcount != 1:
        raise LostLease(import_id)


def _fail(import_id: int, token: str, message: str | None) -> None:
    """Marks the job failed, keeping what the committed chunks did, with the summary audit row."""
    with unit_of_work():
        keys = ("total", "created", "updated", "unchanged", "filename")
        job = db.session.execute(
            sa.select(*(_T.c[key] for key in keys), _T.c.done, _T.c.staff_id, _T.c.error_count).where(
                _T.c.id == import_id
            )
        ).one()
        try:
            _save(import_id, token, status=ImportStatus.failed.value, finished_at=utcnow(), data=None,
                  run_token=None, message=(message or INTERRUPTED.format(done=job.done))[:500])  # fmt: skip
        except LostLease:
            return
        summary = {key: job._mapping[key] for key in keys}
        staff = db.session.get(Staff, job.staff_id)
        record("roster.import", staff=staff, **summary, errors=job.error_count, interrupted=True)


# How long a finished import's row (its counts and the per-row error list, which names people) is kept
# for its progress page; the audit log keeps the import's summary for good.
IMPORT_RETENTION = timedelta(days=90)


def purge_finished_imports(*, older_than: timedelta = IMPORT_RETENTION) -> int:
    """Deletes imports finished more than ``older_than`` ago (daily clean-up); returns how many."""
    result = db.session.execute(
        sa.delete(RosterImport).where(RosterImport.finished_at < utcnow() - older_than)
    )
    return result.rowcount or 0


@contextmanager
def _objects_kept_across_commits(session: Session) -> Iterator[None]:
    """The job commits per chunk; expiring every loaded object at each commit would reload the group
    tree (and the staff member) once per chunk. Members are read afresh per chunk (populate_existing)."""
    previous = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = previous
