"""Sign-up under real concurrency: a live server over HTTP on PostgreSQL, many members at once.

The control test takes the activity row lock away (the module function the operations call, replaced
by a plain read) and shows that the same rush then oversells or repeats waitlist positions.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from backend.activities import signup
from backend.activities.models import Activity, Allocation, Registration, RegistrationStatus
from backend.extensions import db
from backend.notifications.models import Notification
from tests.backend.activities.live import invariants, live_server, members_with_tokens
from tests.concurrency import Held, lock_waiters_reach
from tests.conftest import requires_postgres
from tests.factories import make_activity
from tests.gunicorn_server import gunicorn_server

pytestmark = [requires_postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]
CLIENTS = 50


def _rush(base: str, activity_id: int, tokens: list[str], companions: list[int] | None = None) -> list[int]:
    companions = companions or [0] * len(tokens)
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=CLIENTS, pool_maxsize=CLIENTS))

    def one(i: int) -> int:
        return session.post(
            f"{base}/api/v1/activities/{activity_id}/registration",
            json={"companions": companions[i]},
            headers={"Authorization": f"Bearer {tokens[i]}"},
            timeout=60,
        ).status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(len(tokens))))


def test_200_members_for_20_seats_with_waitlist(app, union, root_officer):
    activity_id = make_activity(app, root_officer, capacity=20)
    tokens = [t for _, t in members_with_tokens(app, union.group_a, 200)]
    with live_server(app) as base:
        statuses = _rush(base, activity_id, tokens)
    assert statuses == [201] * 200
    found = invariants(app, activity_id)
    assert found["registered"] == 20 and found["seats_taken"] == 20
    assert found["positions"] == list(range(1, 181))


def _unlocked_seat_state(activity: Activity) -> None:
    """`signup.lock_seat_state` without its lock: the same narrow read, no FOR NO KEY UPDATE."""
    query = sa.select(*signup._SEAT_STATE).where(Activity.id == activity.id)
    for column, value in zip(signup._SEAT_STATE, db.session.execute(query).one(), strict=True):
        set_committed_value(activity, column.key, value)


def test_the_rush_oversells_without_the_lock(app, union, root_officer, monkeypatch):
    """Control: the same rush without the lock breaks the invariants: `lock_seat_state` replaced by a
    plain read, and `take_seats` (the atomic conditional UPDATE) by a check of the seats the request read
    at its start and an UPDATE without a condition."""

    def unguarded(activity: Activity, seats: int, now) -> bool:
        if not activity.fits(seats):
            return False
        db.session.execute(
            sa.update(Activity)
            .where(Activity.id == activity.id)
            .values(seats_taken=activity.seats_taken + seats)
            .execution_options(synchronize_session=False)
        )
        return True

    monkeypatch.setattr(signup, "lock_seat_state", _unlocked_seat_state)
    monkeypatch.setattr(signup, "take_seats", unguarded)
    activity_id = make_activity(app, root_officer, capacity=20)
    tokens = [t for _, t in members_with_tokens(app, union.group_a, 200)]
    with live_server(app) as base:
        statuses = _rush(base, activity_id, tokens)
    found = invariants(app, activity_id)
    # Every read saw free seats: far more than 20 registered (a run here: 200, with seats_taken 18 from
    # lost updates). The same assertions as the test above fail.
    assert found["registered"] > 20, (found, set(statuses))


def test_the_waitlist_repeats_positions_without_the_lock(app, union, root_officer, monkeypatch):
    """Control for the waitlist: with the seats still taken atomically but `lock_seat_state` a plain
    read, nothing orders the INSERTs that read the next position (`signup._NEXT_POSITION`): requests
    that run at once read the same highest position, and the list has repeats and gaps."""
    monkeypatch.setattr(signup, "lock_seat_state", _unlocked_seat_state)
    activity_id = make_activity(app, root_officer, capacity=20)
    tokens = [t for _, t in members_with_tokens(app, union.group_a, 200)]
    with live_server(app) as base:
        statuses = _rush(base, activity_id, tokens)
    found = invariants(app, activity_id)
    assert statuses == [201] * 200 and found["registered"] == 20
    assert found["positions"] != list(range(1, 181)), found["positions"]


def test_100_members_with_companions_for_50_seats(app, union, root_officer):
    activity_id = make_activity(app, root_officer, capacity=50, max_companions=3)
    tokens = [t for _, t in members_with_tokens(app, union.group_a, 100)]
    companions = [i % 4 for i in range(100)]
    with live_server(app) as base:
        statuses = _rush(base, activity_id, tokens, companions)
    assert set(statuses) == {201}
    found = invariants(app, activity_id)
    assert found["seats_taken"] <= 50 and found["seats_taken"] == found["registered_seats"]
    assert found["positions"] == list(range(1, len(found["positions"]) + 1))
    assert found["registered"] + len(found["positions"]) == 100


def test_the_rush_holds_across_gunicorn_worker_processes(app, union, root_officer):
    """As in production: three gunicorn processes, each with its own connection pool, and parties of one
    to three for 30 seats: the seats taken never pass 30 and match the registered parties; the waitlist
    is 1…n."""
    activity_id = make_activity(app, root_officer, capacity=30, max_companions=2)
    tokens = [t for _, t in members_with_tokens(app, union.group_a, 120)]
    with gunicorn_server(app, workers=3) as base:
        statuses = _rush(base, activity_id, tokens, [i % 3 for i in range(120)])
    assert statuses == [201] * 120
    found = invariants(app, activity_id)
    assert found["seats_taken"] <= 30 and found["seats_taken"] == found["registered_seats"]
    assert found["positions"] == list(range(1, 121 - found["registered"]))


def test_one_member_tapping_20_times_gets_one_registration(app, union, root_officer):
    activity_id = make_activity(app, root_officer, capacity=20)
    [(member_id, token)] = members_with_tokens(app, union.group_a, 1)
    with live_server(app) as base:
        statuses = _rush(base, activity_id, [token] * 20)
    assert sorted(statuses) == [200] * 19 + [201]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Registration.member_id == member_id)) == 1
    # the taps that took a seat before finding the first one's registration gave it back
    assert invariants(app, activity_id)["seats_taken"] == 1


def test_20_cancellations_at_once_promote_exactly_the_first_20_in_order(app, union, root_officer):
    activity_id = make_activity(app, root_officer, capacity=20)
    members = members_with_tokens(app, union.group_a, 50)
    with live_server(app) as base:
        for _, token in members:  # one by one: the first 20 seated, 30 waitlisted in this order
            assert _rush(base, activity_id, [token]) == [201]
        session = requests.Session()

        def cancel(token: str) -> int:
            url = f"{base}/api/v1/activities/{activity_id}/registration"
            return session.delete(url, headers={"Authorization": f"Bearer {token}"}, timeout=60).status_code

        with ThreadPoolExecutor(20) as pool:
            assert list(pool.map(cancel, [t for _, t in members[:20]])) == [204] * 20
    found = invariants(app, activity_id)
    assert (
        found["registered"] == 20 and found["seats_taken"] == 20 and found["positions"] == list(range(1, 11))
    )
    with app.app_context():
        rows = dict(
            db.session.execute(
                sa.select(Registration.member_id, Registration.status).where(
                    Registration.activity_id == activity_id
                )
            )
            .tuples()
            .all()
        )
        promoted_told = db.session.scalar(
            sa.select(sa.func.count()).where(Notification.title.startswith("候补成功"))
        )
        positions = dict(
            db.session.execute(
                sa.select(Registration.member_id, Registration.waitlist_position).where(
                    Registration.status == RegistrationStatus.waitlisted
                )
            )
            .tuples()
            .all()
        )
    assert [rows[m].value for m, _ in members[20:40]] == ["registered"] * 20
    assert [positions[m] for m, _ in members[40:]] == list(range(1, 11))
    assert promoted_told == 20


def _draw_race(app, union, root_officer, command: list[str]) -> tuple[int, list[str]]:
    """A lottery of 8 applicants for 3 seats whose registration has closed; while a holder keeps the
    activity row locked, 3 processes run `command` (a draw) and queue; then the holder lets go.
    The activity id and each process's output."""
    import time
    from datetime import timedelta

    from backend.db import utcnow

    now = utcnow()
    activity_id = make_activity(
        app,
        root_officer,
        capacity=3,
        allocation=Allocation.lottery,
        registration_opens_at=now - timedelta(hours=2),
        registration_closes_at=now + timedelta(seconds=3),
    )
    tokens = [t for _, t in members_with_tokens(app, union.group_a, 8)]
    with live_server(app) as base:
        assert set(_rush(base, activity_id, tokens)) == {201}
    time.sleep(max(0.0, 3.5 - (utcnow() - now).total_seconds()))
    holder = Held(app, lambda: signup.lock_activity(activity_id))
    holder.start()
    assert holder.done.wait(10)
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATA_KEY": app.config["DATA_KEY"],
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "WECHAT_API_BASE": app.config["WECHAT_API_BASE"],
        "WECHAT_APPID": app.config["WECHAT_APPID"],
        "WECHAT_SECRET": app.config["WECHAT_SECRET"],
    }
    env.pop("REDIS_URL", None)
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    try:
        assert lock_waiters_reach(app, 3), "the three processes never queued for the activity's lock"
    finally:
        holder.release.set()
        holder.join(10)
    outputs = [p.communicate(timeout=60) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    return activity_id, [out.decode() for out, _ in outputs]


def test_the_draw_started_by_3_processes_at_once_draws_once(app, emu, union, root_officer):
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "draw-activities"]
    activity_id, drew = _draw_race(app, union, root_officer, command)
    assert sum("抽签 1 场" in text for text in drew) == 1, drew
    with app.app_context():
        activity = db.session.get(Activity, activity_id)
        assert activity.draw_applicants == 8 and activity.draw_winners == 3
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(
                    Notification.dedupe_key.like(f"activity:{activity_id}:draw:%")
                )
            )
            == 8
        )


def test_the_draw_runs_more_than_once_without_the_lock(app, emu, union, root_officer):
    """Control: the same race with the draw's `lock_activity` replaced by a plain read in each process
    (tests/backend/activities/unlocked_draw.py), so nothing re-checks `drawn_at` under a lock: each
    process read the lottery as not drawn yet, and more than one draws (a run here: all 3)."""
    command = [sys.executable, "-m", "tests.backend.activities.unlocked_draw"]
    _, drew = _draw_race(app, union, root_officer, command)
    assert sum("抽签 1 场" in text for text in drew) > 1, drew
