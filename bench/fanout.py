"""Fan-out benchmark: how close does notification delivery come to what the WeChat emulator can take?

1. Raw capacity: one plain loop of subscribe sends through the gateway to the emulator (N messages).
2. The real path: a staff member publishes an announcement to the whole union of N members (the
   recipients snapshot, N inbox messages in one transaction), then delivery as production does it:
   with REDIS_URL, Celery worker processes (started here) draining the queue; without it, the embedded
   default (eager: the drain runs in this process after the commit).

Prints messages/second for both and their ratio (target ≥ 0.5). Uses its own throwaway database: a
SQLite file in a temporary directory, or DATABASE_URL when given (its tables are dropped and rebuilt,
so point it at a scratch database). See bench/README.md.

    .venv/bin/python bench/fanout.py [--count 20000] [--workers 2] [--concurrency 2] [--chunk 20]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from backend import create_app  # noqa: E402
from backend.announcements.models import Announcement, AnnouncementCategory  # noqa: E402
from backend.announcements.operations import create_announcement, publish  # noqa: E402
from backend.config import DEMO_TEMPLATES  # noqa: E402
from backend.db import unit_of_work, utcnow  # noqa: E402
from backend.extensions import db  # noqa: E402
from backend.members.models import Group, Member, MemberStatus, WechatAccount  # noqa: E402
from backend.notifications.models import DeliveryState, Notification, SubscriptionCredit  # noqa: E402
from backend.staff.models import Role  # noqa: E402
from backend.staff.operations import create_staff  # noqa: E402
from backend.wechat.emulator import EmulatorServer  # noqa: E402
from backend.wechat.gateway import WechatGateway, fit_template_data  # noqa: E402

APPID, SECRET = "wx_bench_appid", "bench_secret"
SPEC = DEMO_TEMPLATES["announcement"]
TEMPLATE = SPEC["template_id"]
FINAL = (DeliveryState.sent, DeliveryState.no_credit, DeliveryState.failed, DeliveryState.skipped)


def grant_emulator_credits(server: EmulatorServer, openids: list[str]) -> None:
    state = server.state
    with state.lock:
        for openid in openids:
            state.user(openid)
            state.credits[(openid, TEMPLATE)] += 1


def raw_capacity(server: EmulatorServer, count: int) -> float:
    """Messages/second of a plain loop through the gateway: the ceiling for the real path."""
    openids = [f"wx-raw-{i}" for i in range(count)]
    grant_emulator_credits(server, openids)
    gateway = WechatGateway.from_settings(appid=APPID, secret=SECRET, api_base=server.base_url)
    values = {
        "title": "关于开展职工运动会的通知",
        "category": "通知",
        "published_at": utcnow(),
        "note": "报名",
    }
    data = fit_template_data(SPEC["fields"], values)
    gateway.access_token()
    started = time.perf_counter()
    for openid in openids:
        gateway.send_subscribe_message(openid, TEMPLATE, data, page="pages/announcements/detail?id=1",
                                       miniprogram_state="developer")  # fmt: skip
    elapsed = time.perf_counter() - started
    gateway.close()
    assert len(server.state.sends) == count, "the raw loop lost messages"
    return count / elapsed


def settings(
    server: EmulatorServer, database_url: str, redis_url: str | None, tmp: Path, queue: str, chunk: int
) -> dict[str, str]:
    return {
        "APP_ENV": "testing",
        "SECRET_KEY": "bench-secret",
        "DATA_KEY": "bench-data-key",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url or "",
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": SECRET,
        "WECHAT_API_BASE": server.base_url,
        "UPLOAD_DIR": str(tmp / "uploads"),
        "CELERY_QUEUE": queue,
        # Far above what the emulator takes: the bucket's cost is measured, not its limit.
        "WECHAT_SEND_RATE": os.environ.get("WECHAT_SEND_RATE", "100000"),
        "NOTIFICATIONS_SEND_CHUNK": str(chunk),
    }


def build_app(env: dict[str, str]) -> Any:
    config = {
        "APP_ENV": "testing",
        "SECRET_KEY": env["SECRET_KEY"],
        "DATA_KEY": env["DATA_KEY"],
        "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
        "REDIS_URL": env["REDIS_URL"] or None,
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": SECRET,
        "WECHAT_API_BASE": env["WECHAT_API_BASE"],
        "UPLOAD_DIR": env["UPLOAD_DIR"],
        "CELERY_QUEUE": env["CELERY_QUEUE"],
        "WECHAT_SEND_RATE": float(env["WECHAT_SEND_RATE"]),
        "NOTIFICATIONS_SEND_CHUNK": int(env["NOTIFICATIONS_SEND_CHUNK"]),
    }
    return create_app(config)


def reset_database(app: Any) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA public CASCADE"))
                connection.execute(sa.text("CREATE SCHEMA public"))
        upgrade()


def seed(app: Any, server: EmulatorServer, count: int) -> int:
    """N bound members with a credit each on both sides, and a draft to the whole union: its id."""
    now = utcnow()
    with app.app_context():
        group = Group(name="基准测试工会", path="")
        db.session.add(group)
        db.session.flush()
        group.path = f"/{group.id}/"
        member_ids = list(
            db.session.scalars(
                sa.insert(Member).returning(Member.id),
                [{"name": f"职工{i}", "employee_no": f"B{i:06d}", "group_id": group.id,
                  "status": MemberStatus.active, "created_at": now, "updated_at": now} for i in range(count)],
            )
        )  # fmt: skip
        account_ids = list(
            db.session.scalars(
                sa.insert(WechatAccount).returning(WechatAccount.id),
                [{"openid": f"wx-bench-{m}", "member_id": m, "created_at": now} for m in member_ids],
            )
        )
        db.session.execute(
            sa.insert(SubscriptionCredit),
            [
                {"wechat_account_id": a, "template_id": TEMPLATE, "count": 1, "updated_at": now}
                for a in account_ids
            ],
        )
        staff = create_staff(username="bench", display_name="基准测试", role=Role.admin, scope=group,
                             password="bench-password-1", by=None)  # fmt: skip
        draft = create_announcement(staff=staff, title="关于开展职工运动会的通知",
                                    body_html="<p>请各分会组织报名</p>",
                                    category=AnnouncementCategory.notice, whole_union=True)  # fmt: skip
        db.session.commit()
        announcement_id = draft.id
    grant_emulator_credits(server, [f"wx-bench-{m}" for m in member_ids])
    return announcement_id


def final_count(app: Any) -> int:
    with app.app_context():
        n = db.session.scalar(
            sa.select(sa.func.count()).select_from(Notification).where(Notification.wechat_state.in_(FINAL))
        )
        db.session.remove()
        return n or 0


def start_workers(env: dict[str, str], workers: int, concurrency: int, queue: str, log: Path) -> list[Any]:
    procs = []
    for n in range(workers):
        out = open(log / f"worker{n}.log", "ab")  # noqa: SIM115
        command = [
            sys.executable, "-m", "celery", "-A", "wsgi:celery", "worker", f"--concurrency={concurrency}",
            "--pool=prefork", "-Q", queue, "-n", f"bench{n}-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING",
        ]  # fmt: skip
        procs.append(
            subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        out.close()
    return procs


def stop_workers(procs: list[Any]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def real_path(
    server: EmulatorServer, count: int, args: argparse.Namespace, tmp: Path
) -> tuple[float, dict[str, int]]:
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
    redis_url = os.environ.get("REDIS_URL")
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    env = settings(server, database_url, redis_url, tmp, queue, args.chunk)
    app = build_app(env)
    reset_database(app)
    announcement_id = seed(app, server, count)
    procs = start_workers(env, args.workers, args.concurrency, queue, tmp) if redis_url else []
    try:
        if procs:
            time.sleep(3)  # let the workers connect: their start-up is not delivery time
        started = time.perf_counter()
        with app.app_context(), unit_of_work():
            announcement = db.session.get(Announcement, announcement_id)
            publish(announcement, staff=announcement.author)
        while final_count(app) < count:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        stop_workers(procs)
    with app.app_context():
        query = sa.select(Notification.wechat_state, sa.func.count()).group_by(Notification.wechat_state)
        states = {state.value: n for state, n in db.session.execute(query)}
        db.session.remove()
        db.engine.dispose()
    return count / elapsed, states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (with REDIS_URL)")
    parser.add_argument("--concurrency", type=int, default=2, help="pool size of each worker")
    parser.add_argument(
        "--chunk", type=int, default=20, help="NOTIFICATIONS_SEND_CHUNK: rows marked sending per commit"
    )
    args = parser.parse_args()

    import logging

    with (
        tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmpdir,
        EmulatorServer(appid=APPID, secret=SECRET, templates={TEMPLATE: SPEC["fields"]}) as server,
    ):
        tmp = Path(tmpdir)
        raw = raw_capacity(server, args.count)
        server.state.reset()
        logging.getLogger().setLevel(logging.WARNING)
        real, states = real_path(server, args.count, args, tmp)
        sends = len(server.state.sends)
    mode = (
        f"Celery, {args.workers} worker(s) x {args.concurrency}"
        if os.environ.get("REDIS_URL")
        else "embedded (eager)"
    )
    database = "PostgreSQL" if (os.environ.get("DATABASE_URL") or "").startswith("postgres") else "SQLite"
    print(f"messages:              {args.count}   (NOTIFICATIONS_SEND_CHUNK={args.chunk})")
    print(f"raw gateway loop:      {raw:8.0f} msg/s")
    print(f"delivery ({mode}, {database}): {real:8.0f} msg/s  (states: {states}, emulator sends: {sends})")
    print(f"ratio:                 {real / raw:8.2f}  (target >= 0.5)")


if __name__ == "__main__":
    main()
