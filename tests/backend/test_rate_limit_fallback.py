"""Redis down is not a 500: Flask-Limiter counts in this process's memory while its storage fails (and
logs that it does), /readyz says 503, and logins, binding, uploads and the admin login go on; a junk
value in a limiter key is a storage failure like any other, not a broken login.

Each test runs its own redis-server on a port of 6390-6399 and stops it; the shared Redis is never
touched.
"""

from __future__ import annotations

import logging
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from io import BytesIO

import pytest
from flask import Flask

from backend import create_app
from backend.extensions import celery, db, limiter
from backend.jobs import configure_celery
from backend.members.models import Member
from backend.staff.models import Role
from tests.conftest import app_settings
from tests.factories import PDF, api_login, auth, get, make_member, make_staff, make_union, staff_login
from tests.private_redis import PrivateRedis

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")

PORTS = range(6390, 6400)
FALLBACK_LOGGED = "falling back to in-memory storage"


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
        )  # as redis-server binds: TIME_WAIT is no owner
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class LimiterRedis(PrivateRedis):
    """A private redis-server on a free port in 6390-6399, holding the rate limiter's keys."""

    def __init__(self) -> None:
        port = next((port for port in PORTS if _port_is_free(port)), 0)
        if not port:
            pytest.skip("no free port in 6390-6399 for a private redis-server")
        super().__init__(port)

    def limiter_keys(self) -> list[bytes]:
        return sorted(self.client().keys("LIMITS:*"))


@pytest.fixture
def private_redis() -> Iterator[LimiterRedis]:
    server = LimiterRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_redis_app(app: Flask, emulator, tmp_path_factory) -> Iterator[Callable[[str], Flask]]:
    """make(url) → an app configured as in production: REDIS_URL for jobs, the WeChat token and rate
    limits; on the session app's database, so the factories' rows are there."""
    made: list[Flask] = []

    def make(url: str) -> Flask:
        settings = app_settings(
            emulator,
            tmp_path_factory,
            SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
            REDIS_URL=url,
            RATELIMIT_STORAGE_URI=url,
        )
        made.append(create_app(settings))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
    # Flask-Limiter and Celery are one object per process: give them back to the session app. The
    # limiter remembers a failed storage across init_app; the next test must start on a sound one.
    limiter.init_app(app)
    limiter._storage_dead = False
    configure_celery(celery, app)


@pytest.fixture
def redis_app(make_redis_app: Callable[[str], Flask], private_redis: LimiterRedis) -> Flask:
    return make_redis_app(private_redis.url)


def _bind(client, emu, member_id: int, openid: str) -> str:
    """Logs in through the emulator (POST /api/v1/auth/login) and binds to the roster member."""
    member = get(client.application, Member, member_id)
    token = api_login(client, emu, openid)
    body = {"name": member.name, "employee_no": member.employee_no}
    if member.phone:  # the WeChat-verified phone is the proof (API.md)
        body["phone_code"] = emu.phone_code(openid, member.phone)
    response = client.post("/api/v1/me/binding", json=body, headers=auth(token))
    assert response.status_code == 200 and response.get_json()["status"] == "active", response.get_json()
    return token


def test_with_redis_down_logins_binding_uploads_and_the_admin_login_still_work(
    app, redis_app, private_redis, emu, caplog
):
    union = make_union(app)
    first = make_member(app, union.group_a)
    second = make_member(app, union.group_a)
    make_staff(app, Role.officer, union.root, username="officer-redis")
    client = redis_app.test_client()
    _bind(client, emu, first, "wx-redis-up")
    assert private_redis.limiter_keys(), "with Redis up, the limits are counted there"

    private_redis.stop()
    with caplog.at_level(logging.WARNING, logger="flask-limiter"):
        token = _bind(client, emu, second, "wx-redis-down")
        upload = client.post(
            "/api/v1/uploads", data={"file": (BytesIO(PDF), "证明.pdf")}, headers=auth(token)
        )
        assert upload.status_code == 201, upload.get_json()
        assert staff_login(client, "officer-redis").status_code == 302
    assert FALLBACK_LOGGED in caplog.text

    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["checks"]["redis"].startswith("error")
    assert client.get("/healthz").status_code == 200


def test_with_redis_down_the_limits_are_counted_in_memory(app, redis_app, private_redis, emu, monkeypatch):
    monkeypatch.setitem(redis_app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    client = redis_app.test_client()
    private_redis.stop()
    statuses = [
        client.post("/api/v1/auth/login", json={"code": emu.login_code(f"wx-{n}")}).status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]  # fail open, not unlimited


def test_a_junk_value_in_a_limiter_key_does_not_break_the_api_login(
    app, redis_app, private_redis, emu, caplog
):
    client = redis_app.test_client()
    api_login(client, emu, "wx-junk-1")
    keys = private_redis.limiter_keys()
    assert keys
    for key in keys:
        private_redis.client().set(key, "junk")
    with caplog.at_level(logging.WARNING, logger="flask-limiter"):
        api_login(client, emu, "wx-junk-2")
    assert FALLBACK_LOGGED in caplog.text


@pytest.mark.parametrize("junk", ["junk", ""])
def test_a_junk_value_in_a_limiter_key_does_not_break_the_admin_login(app, redis_app, private_redis, junk):
    """ "junk" breaks the check before the view (int("junk")); "" passes it (it reads as 0) and breaks
    the deduction of a failed attempt after the view (INCRBY on a non-integer)."""
    union = make_union(app)
    make_staff(app, Role.officer, union.root, username="officer-junk")
    client = redis_app.test_client()
    assert staff_login(client, "officer-junk", "wrong-password").status_code == 200  # counted: failed
    keys = private_redis.limiter_keys()
    assert keys
    for key in keys:
        private_redis.client().set(key, junk)
    assert staff_login(client, "officer-junk", "wrong-password").status_code == 200
    assert staff_login(client, "officer-junk").status_code == 302


@pytest.fixture
def hanging_redis() -> Iterator[str]:
    """A port that takes connections (the kernel's backlog) and never answers: a Redis that hangs."""
    port = next((port for port in PORTS if _port_is_free(port)), 0)
    if not port:
        pytest.skip("no free port in 6390-6399")
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        yield f"redis://127.0.0.1:{port}/0"


def test_a_redis_that_hangs_holds_a_login_for_a_moment_only(make_redis_app, emu, hanging_redis):
    client = make_redis_app(hanging_redis).test_client()
    # Half a second, not redis-py's 5 s (with retries): the request that meets the hang waits that long.
    pool = limiter.storage.storage.connection_pool  # type: ignore[attr-defined]  # limits' RedisStorage
    assert pool.connection_kwargs["socket_timeout"] == pool.connection_kwargs["socket_connect_timeout"] == 0.5
    code = emu.login_code("wx-hang")
    answers: list[int] = []
    caller = threading.Thread(
        target=lambda: answers.append(client.post("/api/v1/auth/login", json={"code": code}).status_code),
        daemon=True,
    )
    caller.start()
    caller.join(timeout=60)  # not a measurement: without socket timeouts the login never answers
    assert answers == [200]
