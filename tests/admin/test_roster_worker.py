"""With Redis, confirming a roster import answers at once and a real Celery worker imports the file
while the status endpoint reports its progress (issue 12, point 9: no request waits for the import)."""

from __future__ import annotations

import contextlib
import io
import re
import time
import uuid

import pytest
import redis

from backend import create_app
from backend.extensions import celery, db
from backend.jobs import configure_celery
from backend.members.models import Member
from backend.staff.models import Role
from tests.admin.conftest import csrf_token, html
from tests.admin.test_roster import HEADER
from tests.backend.notifications.test_workers import Workers, _env, _reset_broker_connections
from tests.conftest import ON_POSTGRES, TEST_REDIS_URL, app_settings
from tests.factories import count, make_staff, staff_login

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (ON_POSTGRES and TEST_REDIS_URL),
        reason="a real worker needs a shared PostgreSQL and a Redis broker: "
        "set TEST_DATABASE_URL and TEST_REDIS_URL",
    ),
]

ROWS = 3000


@pytest.fixture
def redis_app(app, emulator, tmp_path, tmp_path_factory):
    """An app that sends its tasks to Redis (on a queue of its own), and the workers that take them."""
    queue = f"roster-test-{uuid.uuid4().hex[:10]}"
    _reset_broker_connections()
    web = create_app(app_settings(emulator, tmp_path_factory, REDIS_URL=TEST_REDIS_URL, CELERY_QUEUE=queue))
    workers = Workers(_env(emulator, str(TEST_REDIS_URL), queue, tmp_path), queue, tmp_path)
    yield web, workers
    workers.stop_all()
    with web.app_context():
        db.session.remove()
        db.engine.dispose()
    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(str(TEST_REDIS_URL), socket_timeout=1).delete(queue)
    _reset_broker_connections()
    configure_celery(celery, app)  # back to eager for the rest of the session


def test_the_confirmation_answers_at_once_and_a_worker_imports_while_the_page_polls(app, union, redis_app):
    web, workers = redis_app
    username = "roster-officer"
    make_staff(app, Role.officer, union.root, username=username)
    client = web.test_client()
    assert staff_login(client, username).status_code == 302
    content = HEADER + "".join(f"职工{n},W{n:05d},,甲一组,,\n" for n in range(ROWS))
    check = client.post(
        "/admin/roster/check",
        data={"csrf_token": csrf_token(client), "file": (io.BytesIO(content.encode()), "名册.csv")},
        content_type="multipart/form-data",
    )
    upload_id = re.search(r'name="upload_id"[^>]*value="([^"]+)"', html(check)).group(1)

    started = time.monotonic()
    response = client.post(
        "/admin/roster/import", data={"csrf_token": csrf_token(client), "upload_id": upload_id}
    )
    assert response.status_code == 303 and time.monotonic() - started < 5
    status_url = response.headers["Location"] + "/status"
    assert client.get(status_url).get_json()["status"] == "queued"  # no worker yet: nothing ran inline
    assert count(app, Member) == 0

    workers.start("roster")
    seen: list[int] = []
    deadline = time.monotonic() + 120
    while True:
        status = client.get(status_url).get_json()
        seen.append(status["done"])
        if status["finished"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (status["status"], status["created"], status["done"], status["total"]) == (
        "done",
        ROWS,
        ROWS,
        ROWS,
    )
    assert seen == sorted(seen)  # progress only moves forward
    assert count(app, Member) == ROWS
    assert "导入完成：新增 3000 人" in html(client.get(response.headers["Location"]))
