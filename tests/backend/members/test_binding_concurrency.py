"""Races answer cleanly: of many requests at once, one succeeds and the others get a clear 409.

PostgreSQL only (real concurrent transactions; SQLite serialises writers with a database-wide lock, so
these races cannot happen there and cannot be staged). Each race is staged: the first request does its
work and keeps its transaction open until every other one waits for a lock, then commits; the others
then finish, whichever statement they waited on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from backend import create_app
from backend.audit.models import AuditLog
from backend.db import unit_of_work
from backend.errors import AlreadyBound, InvalidState, JoinRequestPending
from backend.extensions import celery, db
from backend.jobs import configure_celery
from backend.members.binding import bind
from backend.members.models import Group, JoinRequest, JoinRequestStatus, Member, WechatAccount
from backend.members.operations import approve_join_request
from backend.staff.models import Role, Staff
from tests.concurrency import WAIT, Held, Runner, lock_waiters_reach
from tests.conftest import app_settings, requires_postgres
from tests.factories import count, get, make_member, make_staff, make_union

PHONE = "13900001111"
RACERS = 20


@pytest.fixture
def union(app):
    return make_union(app)


@pytest.fixture
def racing(app, emulator, tmp_path_factory) -> Iterator[Flask]:
    """The session's app with a connection pool that seats every racer at once (the default holds 15:
    a racer waiting for a connection would only start once the race was over). Same database."""
    racing_app = create_app(
        app_settings(
            emulator,
            tmp_path_factory,
            SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
            SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "pool_size": RACERS + 2},
        )
    )
    yield racing_app
    with racing_app.app_context():
        db.session.remove()
        db.engine.dispose()
    configure_celery(celery, app)  # tasks follow whichever app configured Celery last


def _account(app, openid: str) -> int:
    with app.app_context(), unit_of_work():
        account = WechatAccount(openid=openid)
        db.session.add(account)
        db.session.flush()
        return account.id


def _race(app, work: Callable[[int], Callable[[], Any]], n: int) -> tuple[Held, list[Runner]]:
    """Runs work(0) … work(n - 1) at once: work(0) holds its transaction until all others wait."""
    first = Held(app, work(0))
    first.start()
    assert first.done.wait(WAIT)
    others = [Runner(app, work(i)) for i in range(1, n)]
    try:
        for runner in others:
            runner.start()
        assert lock_waiters_reach(app, n - 1), "the other requests never all waited for the first one"
    finally:
        first.release.set()
        first.join(WAIT)
        for runner in others:
            runner.join(WAIT)
    assert first.error is None, repr(first.error)
    return first, others


def _errors(runners: list[Runner]) -> list[BaseException | None]:
    return [runner.error for runner in runners]


@requires_postgres
def test_one_account_binding_one_member_twenty_times_at_once_binds_once(app, racing, emu, union):
    member_id = make_member(app, union.group_a, name="王芳", employee_no="E0001", phone=PHONE)
    account_id = _account(app, "wx-racer")
    codes = [emu.phone_code("wx-racer", PHONE) for _ in range(RACERS)]

    def attempt(i: int) -> Callable[[], Any]:
        def work() -> int | None:
            account = db.session.get(WechatAccount, account_id)
            return bind(account, name="王芳", employee_no="E0001", phone_code=codes[i]).member_id

        return work

    first, others = _race(racing, attempt, RACERS)
    assert first.result == member_id
    errors = _errors(others)
    assert all(isinstance(error, AlreadyBound) for error in errors), errors
    assert {(error.status, error.code) for error in errors} == {(409, "already_bound")}
    assert count(app, AuditLog, AuditLog.action == "member.bind") == 1
    assert get(app, WechatAccount, account_id).member_id == member_id


@requires_postgres
def test_twenty_join_requests_at_once_from_one_account_file_one(app, racing, union):
    account_id = _account(app, "wx-newcomer")

    def attempt(i: int) -> Callable[[], Any]:
        def work() -> str:
            account = db.session.get(WechatAccount, account_id)
            bind(account, name="新人", employee_no="N0001", group_id=union.group_a)
            return account.join_requests[0].status.value

        return work

    first, others = _race(racing, attempt, RACERS)
    assert first.result == "pending"
    errors = _errors(others)
    assert all(isinstance(error, JoinRequestPending) for error in errors), errors
    assert {(error.status, error.code) for error in errors} == {(409, "join_request_pending")}
    assert count(app, JoinRequest) == 1


@requires_postgres
def test_ten_approvals_of_one_join_request_at_once_approve_it_once(app, racing, union):
    account_id = _account(app, "wx-applicant")
    with app.app_context(), unit_of_work():
        request = JoinRequest(wechat_account_id=account_id, name="申请人", employee_no="N0002")
        db.session.add(request)
        db.session.flush()
        request_id = request.id
    staff_ids = [make_staff(app, Role.officer, union.root) for _ in range(10)]

    def attempt(i: int) -> Callable[[], Any]:
        def work() -> int:
            join_request = db.session.get(JoinRequest, request_id)
            staff = db.session.get(Staff, staff_ids[i])
            member = approve_join_request(
                join_request, staff=staff, group=db.session.get(Group, union.group_a)
            )
            return member.id

        return work

    first, others = _race(racing, attempt, 10)
    errors = _errors(others)
    assert all(isinstance(error, InvalidState) for error in errors), errors
    assert {error.status for error in errors} == {409}
    assert count(app, Member, Member.employee_no == "N0002") == 1
    assert get(app, JoinRequest, request_id).status == JoinRequestStatus.approved
    assert get(app, WechatAccount, account_id).member_id == first.result
