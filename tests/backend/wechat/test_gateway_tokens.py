"""Access tokens: stable_token, one fetch shared by all workers, bounded refresh on 40001/42001."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from backend.wechat.emulator import EmulatorControl
from backend.wechat.gateway import WechatError, WechatGateway
from backend.wechat.token_store import RedisTokenStore
from tests.backend.wechat.conftest import NOTICE_TEMPLATE, GatewayFactory

NOTICE = {"thing1": "职工篮球赛报名开始", "time2": "2024-05-01 09:30"}


def _in_parallel(calls: list[Callable[[], str]]) -> list[str]:
    """Run the calls at the same moment in threads; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[str | BaseException] = [""] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [str(result) for result in results]


def test_token_comes_from_stable_token_and_is_reused(control: EmulatorControl, wechat: WechatGateway) -> None:
    first = wechat.access_token()
    assert wechat.access_token() == first
    stats = control.stats()
    assert stats["calls"] == {"cgi-bin/stable_token": 1}
    assert stats["token_issuances"] == 1


@pytest.mark.redis
def test_gateways_sharing_redis_fetch_one_token(
    control: EmulatorControl,
    make_gateway: GatewayFactory,
    redis_store_factory: Callable[[], RedisTokenStore],
) -> None:
    # A slow token endpoint keeps the first fetch in flight while the other workers arrive.
    control.add_fault("cgi-bin/stable_token", delay=0.3)
    gateways = [make_gateway(token_store=redis_store_factory()) for _ in range(4)]
    tokens = _in_parallel([gw.access_token for gw in gateways])
    assert len(set(tokens)) == 1
    stats = control.stats()
    assert stats["calls"]["cgi-bin/stable_token"] == 1
    assert stats["token_issuances"] == 1


def test_threads_of_one_process_fetch_one_token(control: EmulatorControl, wechat: WechatGateway) -> None:
    control.add_fault("cgi-bin/stable_token", delay=0.3)
    tokens = _in_parallel([wechat.access_token] * 4)
    assert len(set(tokens)) == 1
    assert control.stats()["calls"]["cgi-bin/stable_token"] == 1


def test_expired_token_costs_one_refresh_and_one_retry(
    control: EmulatorControl, wechat: WechatGateway
) -> None:
    control.grant("o_alice", NOTICE_TEMPLATE, 2)
    wechat.send_subscribe_message("o_alice", NOTICE_TEMPLATE, NOTICE)
    old = wechat.access_token()
    control.expire_tokens()
    wechat.send_subscribe_message("o_alice", NOTICE_TEMPLATE, NOTICE)
    assert wechat.access_token() != old
    stats = control.stats()
    assert stats["calls"]["cgi-bin/message/subscribe/send"] == 3
    assert stats["calls"]["cgi-bin/stable_token"] == 2
    assert stats["force_refreshes"] == 1
    assert stats["send_count"] == 2


def test_invalidated_token_is_replaced(control: EmulatorControl, wechat: WechatGateway) -> None:
    control.create_user("o_alice")
    wechat.msg_sec_check("o_alice", "你好")
    control.invalidate_tokens()
    assert wechat.msg_sec_check("o_alice", "你好").passed
    assert control.stats()["calls"]["wxa/msg_sec_check"] == 3


def test_token_errors_that_persist_are_bounded(control: EmulatorControl, wechat: WechatGateway) -> None:
    control.create_user("o_alice")
    control.add_fault("wxa/msg_sec_check", errcode=40001)
    with pytest.raises(WechatError) as caught:
        wechat.msg_sec_check("o_alice", "你好")
    assert caught.value.errcode == 40001
    calls = control.stats()["calls"]
    assert calls["wxa/msg_sec_check"] == 2
    assert calls["cgi-bin/stable_token"] == 2


@pytest.mark.redis
def test_a_token_already_replaced_by_another_worker_is_reused(
    control: EmulatorControl,
    make_gateway: GatewayFactory,
    redis_store_factory: Callable[[], RedisTokenStore],
) -> None:
    first, second = (make_gateway(token_store=redis_store_factory()) for _ in range(2))
    control.grant("o_alice", NOTICE_TEMPLATE, 1)
    stale = first.access_token()
    control.expire_tokens()
    first.send_subscribe_message("o_alice", NOTICE_TEMPLATE, NOTICE)  # refreshes, forced
    fresh = first.access_token()
    # The second worker also saw the stale token fail: it must take the new one, not force again.
    assert second.client.refresh_access_token(stale=stale) == fresh
    stats = control.stats()
    assert stats["calls"]["cgi-bin/stable_token"] == 2
    assert stats["force_refreshes"] == 1


def test_force_refresh_replaces_the_token(control: EmulatorControl, wechat: WechatGateway) -> None:
    old = wechat.access_token()
    new = wechat.access_token(force_refresh=True)
    assert new != old
    assert wechat.access_token() == new
    assert control.stats()["force_refreshes"] == 1
