"""Staging races on PostgreSQL: transactions in threads, and watching who waits for whose lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask

from backend.db import unit_of_work
from backend.extensions import db

WAIT = 10  # seconds any step of a staged race may take before the test gives up


class Runner(threading.Thread):
    """Runs ``work`` in its own app context and transaction; ``result`` or ``error`` afterwards."""

    def __init__(self, app: Flask, work: Callable[[], Any]):
        super().__init__(daemon=True)
        self.app, self.work = app, work
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.app.app_context(), unit_of_work():
                self.result = self.work()
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc


class Held(Runner):
    """Like Runner, but keeps the transaction open after ``work`` (``done`` is set) until ``release``."""

    def __init__(self, app: Flask, work: Callable[[], Any]):
        super().__init__(app, work)
        self.done, self.release = threading.Event(), threading.Event()

    def run(self) -> None:
        try:
            with self.app.app_context(), unit_of_work():
                self.result = self.work()
                self.done.set()
                self.release.wait(WAIT)
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()


def backend_pid() -> int:
    """The PostgreSQL backend of the current session's connection (call inside ``work``)."""
    return db.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()


def _poll(app: Flask, check: Callable[[Any], bool]) -> bool:
    with app.app_context(), db.engine.connect() as connection:
        for _ in range(WAIT * 20):
            found = check(connection)
            # pg_stat_activity is a snapshot taken once per transaction: end it to see the next state.
            connection.rollback()
            if found:
                return True
            time.sleep(0.05)
    return False


def someone_waits_for(app: Flask, holder_pid: int) -> bool:
    """True once another session waits for a lock that the session ``holder_pid`` holds."""
    query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    return _poll(app, lambda connection: bool(connection.execute(query, {"pid": holder_pid}).scalar()))


def lock_waiters_run(app: Flask, *statements: str) -> bool:
    """True once a session is blocked on a lock in each of ``statements`` (SQL prefixes, any case)."""
    query = sa.text(
        "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )

    def check(connection: Any) -> bool:
        waiting = [q.lstrip().upper() for q in connection.execute(query).scalars()]
        return all(any(q.startswith(s.upper()) for q in waiting) for s in statements)

    return _poll(app, check)


def lock_waiters_reach(app: Flask, count: int) -> bool:
    """True once at least ``count`` sessions of this database wait for a lock, whatever the statement
    (so that a test stages the same race with and without the guard it checks)."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    return _poll(app, lambda connection: connection.execute(query).scalar_one() >= count)
