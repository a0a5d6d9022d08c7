"""Several gunicorn workers share one WeChat access token through Redis (stable_token)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from backend.members.models import Member
from tests.conftest import TEST_REDIS_URL, requires_postgres, requires_redis
from tests.factories import get, make_member, make_union
from tests.gunicorn_server import gunicorn_server

# Several processes writing at once: PostgreSQL, as in production (SQLite serves one process).
pytestmark = [requires_postgres, requires_redis, pytest.mark.slow]


def _isolated_redis_url() -> str:
    """The test run's own Redis database, emptied: no token left over from another test or run.

    (Never another database number: on a shared Redis that one may be someone else's.)"""
    url = str(TEST_REDIS_URL)
    redis.Redis.from_url(url).flushdb()
    return url


def test_two_gunicorn_workers_fetch_one_token_between_them(app, emu):
    union = make_union(app)
    members = [get(app, Member, make_member(app, union.group_a)) for _ in range(8)]
    env = {
        "REDIS_URL": _isolated_redis_url(),
        "WECHAT_APPID": app.config["WECHAT_APPID"],
        "WECHAT_SECRET": app.config["WECHAT_SECRET"],
        "WECHAT_API_BASE": app.config["WECHAT_API_BASE"],
    }
    # sync workers: concurrent requests must spread over both
    with gunicorn_server(app, workers=2, env=env) as base:

        def bind_with_phone(member: Member) -> tuple[int, str]:
            openid = f"wx-{member.employee_no}"
            login = requests.post(
                base + "/api/v1/auth/login", json={"code": emu.login_code(openid)}, timeout=10
            )
            assert login.status_code == 200, login.text
            token = login.json()["token"]
            response = requests.post(
                base + "/api/v1/me/binding",
                json={
                    "name": member.name,
                    "employee_no": member.employee_no,
                    "phone_code": emu.phone_code(openid, member.phone),
                },
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            return response.status_code, response.json().get("status", "")

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(bind_with_phone, members))

    assert results == [(200, "active")] * len(members)
    stats = emu.stats()
    assert stats["calls"].get("wxa/business/getuserphonenumber") == len(members)
    # One fetch in all: the second worker found the token in Redis (stable_token would have handed it the
    # same token anyway, so the count of calls, not of distinct tokens, is what shows the sharing).
    assert stats["calls"].get("cgi-bin/stable_token") == 1
    assert stats["token_issuances"] == 1
