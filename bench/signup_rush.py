"""Sign-up rush benchmark: 2,000 members tap 「报名」 at once for 100 seats, on gunicorn (4 workers) and
PostgreSQL, as in production.

In the same run, on the same server, the same clients first hit a baseline endpoint of the bench's own
(bench/signup_rush_app.py: one indexed read and one insert, no lock) with the same 2,000 tokens; then
the real `POST /api/v1/activities/{id}/registration`. That is one round; `--rounds` (3) rounds run one
after the other, each with an activity of its own, so that a slow moment of a shared machine falls on
both sides of a round's ratio rather than on one. Prints requests per second and p50/p99 latency for
both in each round, the oversells (registered seats beyond the capacity; must be 0), waitlists with a
gap or a repeat (must be 0) and the 5xx answers (must be 0); the last line is `ratio: <the median over
the rounds of registrations per second / baseline requests per second>` (target ≥ 0.5, and the median
sign-up p99 under 4× the baseline's).

DATABASE_URL must be a scratch PostgreSQL database: its schema is DROPPED and rebuilt.

    DATABASE_URL=postgresql+psycopg://…/scratch .venv/bin/python bench/signup_rush.py [--members 2000]
        [--seats 100] [--clients 64] [--workers 4] [--threads 1] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from backend import create_app  # noqa: E402
from backend.activities.models import Activity, ActivityCategory, Registration, RegistrationStatus  # noqa: E402
from backend.activities.operations import ActivityDraft, publish, save_activity  # noqa: E402
from backend.db import unit_of_work, utcnow  # noqa: E402
from backend.extensions import db  # noqa: E402
from backend.members.auth import issue_token  # noqa: E402
from backend.members.models import BindingProof, WechatAccount  # noqa: E402
from backend.members.operations import create_group, create_member  # noqa: E402
from backend.staff.models import Role  # noqa: E402
from backend.staff.operations import create_staff  # noqa: E402

SETTINGS = {"APP_ENV": "testing", "SECRET_KEY": "bench-secret", "DATA_KEY": "bench-data-key"}


def build(database_url: str, members: int, seats: int, rounds: int = 1) -> tuple[list[int], list[str]]:
    from flask_migrate import upgrade

    app = create_app({**SETTINGS, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": None})
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        upgrade()
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "CREATE TABLE bench_baseline"
                    " (id serial PRIMARY KEY, account_id int, created_at timestamp)"
                )
            )
        with unit_of_work():
            root = create_group("基准测试工会", parent=None, staff=None)
            staff = create_staff(username="bench", display_name="基准测试", role=Role.admin, scope=root,
                                 password="bench-password-1", by=None)  # fmt: skip
            now = utcnow()
            draft = ActivityDraft(
                title="抢报基准", category=ActivityCategory.benefit, description_html="", location="礼堂",
                starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=2, hours=2),
                registration_opens_at=now - timedelta(minutes=5),
                registration_closes_at=now + timedelta(days=1),
                capacity=seats, whole_union=True,
            )  # fmt: skip
            activity_ids = [
                publish(save_activity(None, draft, staff=staff), staff=staff).id for _ in range(rounds)
            ]
            tokens = []
            for i in range(members):
                member = create_member(
                    staff=None, group=root, name=f"职工{i}", employee_no=f"R{i:06d}", phone=None
                )
                account = WechatAccount(
                    openid=f"bench-{i}", member=member, bound_at=now, binding_proof=BindingProof.phone
                )
                db.session.add(account)
                db.session.flush()
                tokens.append(issue_token(account, ttl=timedelta(hours=2)).token)
        db.session.remove()
        db.engine.dispose()
    return activity_ids, tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(database_url: str, workers: int, threads: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        **SETTINGS,
        "DATABASE_URL": database_url,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        "GUNICORN_LOGLEVEL": "warning",
    }
    env.pop("REDIS_URL", None)
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--access-logfile", "/dev/null",
               "bench.signup_rush_app:app"]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return server, base
        except requests.RequestException:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn did not start: " + server.stderr.read1().decode(errors="replace"))  # type: ignore[union-attr]


def rush(
    url: str, tokens: list[str], clients: int, body: dict[str, Any] | None, warm_url: str
) -> tuple[float, list[float], list[int]]:
    """Every token POSTs once to `url` from `clients` threads, each keeping its connection; the threads
    first GET `warm_url` (connections open, worker processes warm) without acting."""
    local = threading.local()

    def session() -> requests.Session:
        if getattr(local, "session", None) is None:
            local.session = requests.Session()
        return local.session

    def warm(token: str) -> None:
        session().get(warm_url, headers={"Authorization": f"Bearer {token}"}, timeout=120)

    def one(token: str) -> tuple[float, int]:
        started = time.perf_counter()
        response = session().post(
            url, json=body or {}, headers={"Authorization": f"Bearer {token}"}, timeout=120
        )
        return time.perf_counter() - started, response.status_code

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(warm, tokens[: clients * 4]))
        started = time.perf_counter()
        results = list(pool.map(one, tokens))
        elapsed = time.perf_counter() - started
    return elapsed, [r[0] for r in results], [r[1] for r in results]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(name: str, elapsed: float, latencies: list[float], statuses: list[int]) -> tuple[float, float]:
    rate = len(statuses) / elapsed
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    codes = {code: statuses.count(code) for code in sorted(set(statuses))}
    print(f"{name}: {len(statuses)} requests in {elapsed:.2f} s = {rate:.0f}/s")
    mean = statistics.mean(latencies) * 1000
    print(f"  p50 {p50:.1f} ms, p99 {p99:.1f} ms, mean {mean:.1f} ms; answers {codes}")
    return rate, p99


def outcome(database_url: str, activity_id: int) -> dict[str, int]:
    app = create_app({**SETTINGS, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": None})
    with app.app_context():
        activity = db.session.get(Activity, activity_id)
        rows = db.session.execute(
            sa.select(Registration.status, Registration.companions, Registration.waitlist_position).where(
                Registration.activity_id == activity_id
            )
        ).all()
        seated = sum(1 + r.companions for r in rows if r.status == RegistrationStatus.registered)
        positions = sorted(r.waitlist_position for r in rows if r.status == RegistrationStatus.waitlisted)
        result = {
            "registered_seats": seated,
            "seats_taken": activity.seats_taken,
            "oversells": max(0, seated - (activity.capacity or seated)),
            "waitlisted": len(positions),
            "gapless": int(positions == list(range(1, len(positions) + 1))),
        }
        db.session.remove()
        db.engine.dispose()
    return result


def settle(database_url: str) -> None:
    """Before a round: fresh planner statistics and a checkpoint, so that neither an autovacuum's ANALYZE
    (which changes plans) nor a checkpoint's writes (which stall commits) falls inside a timed rush."""
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
        connection.execute(sa.text("CHECKPOINT"))
    engine.dispose()


def one_round(
    database_url: str, base: str, activity_id: int, tokens: list[str], clients: int
) -> tuple[tuple[float, list[float], list[int]], tuple[float, list[float], list[int]]]:
    """The baseline rush, then the sign-up rush for one activity, by the same members."""
    settle(database_url)
    detail = f"{base}/api/v1/activities/{activity_id}"
    baseline = rush(base + "/bench/baseline", tokens, clients, None, base + "/healthz")
    signup = rush(detail + "/registration", tokens, clients, {"companions": 0}, detail)
    return baseline, signup


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--seats", type=int, default=100)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgresql"):
        raise SystemExit("set DATABASE_URL to a scratch PostgreSQL database (its schema is dropped)")
    print(f"building {args.members} members and {args.rounds} activities of {args.seats} seats …")
    activity_ids, tokens = build(database_url, args.members, args.seats, args.rounds)
    server, base = start_gunicorn(database_url, args.workers, args.threads)
    try:
        results = [
            one_round(database_url, base, activity_id, tokens, args.clients) for activity_id in activity_ids
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"gunicorn {args.workers} workers × {args.threads} threads, {args.clients} clients, PostgreSQL")
    ratios, p99_ratios, oversells, gaps, errors = [], [], 0, 0, 0
    for number, (activity_id, (baseline, signup)) in enumerate(zip(activity_ids, results, strict=True), 1):
        print(f"round {number}:")
        b_rate, b_p99 = report("  baseline (one indexed read + one insert)", *baseline)
        s_rate, s_p99 = report("  sign-up (POST registration)", *signup)
        found = outcome(database_url, activity_id)
        gapless = "yes" if found["gapless"] else "NO"
        print(f"  seats: {found['registered_seats']} registered of {args.seats}, "
              f"seats_taken {found['seats_taken']}; waitlisted: {found['waitlisted']} "
              f"(positions 1…n without a gap: {gapless})")  # fmt: skip
        print(f"  ratio {s_rate / b_rate:.2f}, p99 sign-up / baseline {s_p99 / b_p99:.2f}")
        ratios.append(s_rate / b_rate)
        p99_ratios.append(s_p99 / b_p99)
        oversells += found["oversells"]
        gaps += 0 if found["gapless"] else 1
        errors += sum(1 for code in baseline[2] + signup[2] if code >= 500)
    print(f"oversells: {oversells}")
    print(f"waitlists with a gap or a repeat: {gaps}")
    print(f"5xx: {errors}")
    p99_median = statistics.median(p99_ratios)
    print(f"p99 sign-up / baseline, median of {args.rounds} rounds: {p99_median:.2f} (target < 4)")
    print(f"ratios: {', '.join(f'{r:.2f}' for r in ratios)} (the median is the result)")
    print(f"ratio: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
