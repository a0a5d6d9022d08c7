"""Done means: real Celery worker processes on PostgreSQL + Redis deliver a fan-out exactly as the
ledger says, through transient WeChat failures, SIGKILLed workers and a Redis outage at commit time.

The emulator runs in this process over HTTP; workers are `celery -A wsgi:celery worker` subprocesses
configured through the environment, like production. Each test uses its own queue name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask

from backend import create_app
from backend.db import unit_of_work, utcnow
from backend.extensions import celery, db
from backend.jobs import configure_celery
from backend.members.models import Member, MemberStatus, WechatAccount
from backend.notifications.delivery import WORKER_LOST, sweep
from backend.notifications.models import DeliveryState, Notification, SubscriptionCredit
from backend.notifications.operations import notify_many
from backend.wechat.emulator import EmulatorServer
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL, TEST_REDIS_URL, app_settings, project_root
from tests.factories import ANNOUNCEMENT_TEMPLATE, make_union
from tests.private_redis import PrivateRedis

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (ON_POSTGRES and TEST_REDIS_URL),
        reason="real workers need a shared PostgreSQL and a Redis broker: "
        "set TEST_DATABASE_URL and TEST_REDIS_URL",
    ),
]

SEND_PATH = "cgi-bin/message/subscribe/send"
FINAL = {DeliveryState.sent, DeliveryState.no_credit, DeliveryState.failed}
# What workers and this process share: fast backoff and short leases so recovery fits in a test.
DELIVERY_SETTINGS: dict[str, Any] = {
    "WECHAT_SEND_BACKOFF": 0.2,
    "WECHAT_SEND_BACKOFF_MAX": 1.0,
    "WECHAT_SEND_MAX_ATTEMPTS": 12,
    "WECHAT_SEND_LEASE": 2.0,
    "WECHAT_SEND_RATE": 0,
    "NOTIFICATIONS_BATCH": 25,
    "NOTIFICATIONS_SEND_CHUNK": 5,
    "NOTIFICATIONS_DRAIN_TASKS": 4,
}


def _reset_broker_connections() -> None:
    """Celery caches its broker pool; switching brokers in one process needs a fresh one."""
    celery._pool = None
    amqp = celery.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


class Workers:
    """Celery worker subprocesses, each in its own process group (so a SIGKILL takes its pool too)."""

    def __init__(self, env: dict[str, str], queue: str, log_dir: Path) -> None:
        self.env = env
        self.queue = queue
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "wsgi:celery", "worker", "--concurrency=2",
             "--pool=prefork", "-Q", self.queue, "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
            cwd=project_root(), env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker and its pool children at once: a machine losing power, as far as we care."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def _env(emulator: EmulatorServer, redis_url: str, queue: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST"))}
    env.update(
        APP_ENV="testing",
        SECRET_KEY="test-secret-key",
        DATA_KEY="test-data-key",
        DATABASE_URL=str(TEST_DATABASE_URL),
        REDIS_URL=redis_url,
        WECHAT_APPID="wx_test_appid",
        WECHAT_SECRET="test_secret",
        WECHAT_API_BASE=emulator.base_url,
        WECHAT_TIMEOUT="2.0",
        CELERY_QUEUE=queue,
        UPLOAD_DIR=str(tmp / "uploads"),
        **{key: str(value) for key, value in DELIVERY_SETTINGS.items()},
    )
    return env


@pytest.fixture
def broker(
    app: Flask, emulator: EmulatorServer, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], tuple[Flask, Workers]]]:
    """make(redis_url) → (an app that enqueues to Redis, the workers to start); both cleaned up after."""
    made: list[tuple[Flask, Workers, str]] = []

    def make(redis_url: str) -> tuple[Flask, Workers]:
        queue = f"notif-test-{uuid.uuid4().hex[:10]}"
        _reset_broker_connections()
        redis_app = create_app(
            app_settings(
                emulator, tmp_path_factory, REDIS_URL=redis_url, CELERY_QUEUE=queue, **DELIVERY_SETTINGS
            )
        )
        workers = Workers(_env(emulator, redis_url, queue, tmp_path), queue, tmp_path)
        made.append((redis_app, workers, redis_url))
        return redis_app, workers

    yield make
    for redis_app, workers, redis_url in made:
        workers.stop_all()
        with redis_app.app_context():
            db.session.remove()
            db.engine.dispose()
        with contextlib.suppress(redis.RedisError):
            redis.Redis.from_url(redis_url, socket_timeout=1).delete(workers.queue)
    _reset_broker_connections()
    configure_celery(celery, app)  # back to eager for the rest of the session


def seed(app: Flask, emulator: EmulatorServer, n: int, *, credits: int = 3) -> list[int]:
    """n bound members with `credits` for the announcement template on both sides (bulk, for speed)."""
    union = make_union(app)
    now = utcnow()
    with app.app_context():
        member_ids = list(
            db.session.scalars(
                sa.insert(Member).returning(Member.id),
                [
                    {"name": f"职工{i}", "employee_no": f"W{i:05d}", "group_id": union.group_a,
                     "status": MemberStatus.active, "created_at": now, "updated_at": now}
                    for i in range(n)
                ],
            )
        )  # fmt: skip
        account_ids = list(
            db.session.scalars(
                sa.insert(WechatAccount).returning(WechatAccount.id),
                [
                    {
                        "openid": f"wx-load-{member_id}",
                        "member_id": member_id,
                        "created_at": now,
                        "bound_at": now,
                    }
                    for member_id in member_ids
                ],
            )
        )
        db.session.execute(
            sa.insert(SubscriptionCredit),
            [
                {
                    "wechat_account_id": a,
                    "template_id": ANNOUNCEMENT_TEMPLATE,
                    "count": credits,
                    "updated_at": now,
                }
                for a in account_ids
            ],
        )
        db.session.commit()
    state = emulator.state
    with state.lock:
        for member_id in member_ids:
            state.user(f"wx-load-{member_id}")
            state.credits[(f"wx-load-{member_id}", ANNOUNCEMENT_TEMPLATE)] += credits
    return member_ids


def fan_out(app: Flask, member_ids: list[int], prefix: str = "announcement:1") -> int:
    with app.app_context(), unit_of_work():
        return notify_many(
            member_ids,
            kind="announcement",
            title="关于开展职工运动会的通知",
            body="请各分会组织报名",
            link="pages/announcements/detail?id=1",
            dedupe_prefix=prefix,
        )


def states(app: Flask) -> Counter[DeliveryState]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Notification.wechat_state, sa.func.count()).group_by(Notification.wechat_state)
        )
        return Counter({state: n for state, n in rows})


def sends(emulator: EmulatorServer) -> int:
    with emulator.state.lock:
        return len(emulator.state.sends)


def wait_until(condition: Callable[[], bool], *, timeout: float, sweep_app: Flask | None = None) -> None:
    """Poll until condition holds; with sweep_app, run the sweeper each second (celery beat's job)."""
    deadline = time.monotonic() + timeout
    last_sweep = 0.0
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        if sweep_app is not None and time.monotonic() - last_sweep > 1.0:
            with sweep_app.app_context():
                sweep()
            last_sweep = time.monotonic()
        time.sleep(0.1)


def send_counts(emulator: EmulatorServer) -> Counter[str]:
    with emulator.state.lock:
        return Counter(send["openid"] for send in emulator.state.sends)


def test_fan_out_survives_transient_failures_and_two_killed_workers(app, emulator, emu, broker):
    redis_app, workers = broker(str(TEST_REDIS_URL))
    member_ids = seed(app, emulator, 2000)
    # 20% of sends fail transiently: -1 (busy; the gateway retries it) and 45011 (the ledger backs off).
    emu.fault(SEND_PATH, errcode=45011, rate=0.1)
    emu.fault(SEND_PATH, errcode=-1, rate=0.11)
    first = workers.start("first")

    assert fan_out(redis_app, member_ids) == 2000
    wait_until(lambda: sends(emulator) >= 400, timeout=30)
    workers.kill(first)
    second = workers.start("second")
    wait_until(lambda: sends(emulator) >= 1100, timeout=30, sweep_app=redis_app)
    workers.kill(second)
    workers.start("third")
    wait_until(lambda: sum(states(app)[s] for s in FINAL) == 2000, timeout=60, sweep_app=redis_app)

    final = states(app)
    counts = send_counts(emulator)
    assert sum(final.values()) == 2000, final  # nothing lost
    assert max(counts.values()) == 1, "a member got the same notice twice"
    with app.app_context():
        rows = db.session.execute(
            sa.select(WechatAccount.openid, Notification.wechat_state, Notification.last_error_code).join(
                WechatAccount, WechatAccount.member_id == Notification.member_id
            )
        ).all()
    sent = {openid for openid, state, _ in rows if state == DeliveryState.sent}
    failed = [(openid, code) for openid, state, code in rows if state == DeliveryState.failed]
    assert sent <= set(counts)  # every "sent" row really was sent, once
    # Only the rows of the chunks in flight when a worker died are failed (2 kills x 2 processes x a
    # chunk of 5), never resent.
    assert len(failed) <= 20 and all(code == WORKER_LOST for _, code in failed), failed
    assert len(sent) + len(failed) == 2000 - final[DeliveryState.no_credit]
    assert final[DeliveryState.no_credit] == 0


def test_two_workers_at_once_send_each_notice_once(app, emulator, emu, broker):
    redis_app, workers = broker(str(TEST_REDIS_URL))
    member_ids = seed(app, emulator, 1000)
    workers.start("left")
    workers.start("right")
    assert fan_out(redis_app, member_ids) == 1000
    wait_until(lambda: states(app)[DeliveryState.sent] == 1000, timeout=45, sweep_app=redis_app)
    counts = send_counts(emulator)
    assert len(counts) == 1000 and set(counts.values()) == {1}
    with app.app_context():
        assert set(db.session.scalars(sa.select(SubscriptionCredit.count))) == {2}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(_free_port())
    server.start()
    yield server
    server.stop()


def test_redis_down_at_commit_time_loses_nothing(app, emulator, emu, broker, private_redis):
    redis_app, workers = broker(private_redis.url)
    member_ids = seed(app, emulator, 50)
    workers.start("patient")
    private_redis.stop()

    started = time.monotonic()
    assert fan_out(redis_app, member_ids) == 50  # the commit stands; the enqueue failed quietly
    assert time.monotonic() - started < 10
    assert states(app) == Counter({DeliveryState.pending: 50})

    private_redis.start()
    wait_until(lambda: states(app)[DeliveryState.sent] == 50, timeout=45, sweep_app=redis_app)
    assert set(send_counts(emulator).values()) == {1}
