"""When WeChat is busy, slow, or gone: bounded retries, WechatUnavailable within five seconds.

Timings are bounds, not measurements: a call that gives up must do so before the product's 503
deadline (5 s), and the counts prove the retries are bounded.
"""

from __future__ import annotations

import socket
import time

import pytest

from backend.wechat.emulator import EmulatorControl
from backend.wechat.gateway import WechatError, WechatGateway, WechatUnavailable
from tests.backend.wechat.conftest import NOTICE_TEMPLATE, GatewayFactory

NOTICE = {"thing1": "职工篮球赛报名开始", "time2": "2024-05-01 09:30"}
LOGIN = "sns/jscode2session"
SEND = "cgi-bin/message/subscribe/send"


def test_system_busy_is_retried(control: EmulatorControl, wechat: WechatGateway) -> None:
    control.add_fault(LOGIN, errcode=-1, times=2)
    assert wechat.code_to_session(control.login_code("o_alice")).openid == "o_alice"
    assert control.stats()["calls"][LOGIN] == 3


def test_system_busy_forever_gives_up_boundedly(control: EmulatorControl, wechat: WechatGateway) -> None:
    control.add_fault(LOGIN, errcode=-1)
    started = time.monotonic()
    with pytest.raises(WechatUnavailable) as caught:
        wechat.code_to_session(control.login_code("o_alice"))
    assert time.monotonic() - started < 5.5
    assert caught.value.errcode == -1
    assert control.stats()["calls"][LOGIN] == 3


def test_a_send_refused_as_busy_is_retried_once_delivered(
    control: EmulatorControl, wechat: WechatGateway
) -> None:
    control.grant("o_alice", NOTICE_TEMPLATE, 1)
    control.add_fault(SEND, errcode=-1, times=1)
    wechat.send_subscribe_message("o_alice", NOTICE_TEMPLATE, NOTICE)
    assert control.stats()["send_count"] == 1


def test_rate_limit_is_reported_not_retried(control: EmulatorControl, wechat: WechatGateway) -> None:
    control.add_fault(LOGIN, errcode=45011)
    with pytest.raises(WechatError) as caught:
        wechat.code_to_session(control.login_code("o_alice"))
    assert caught.value.errcode == 45011
    assert not isinstance(caught.value, WechatUnavailable)
    assert control.stats()["calls"][LOGIN] == 1


def test_server_errors_are_retried(control: EmulatorControl, wechat: WechatGateway) -> None:
    control.add_fault(LOGIN, status=502, times=1)
    assert wechat.code_to_session(control.login_code("o_alice")).openid == "o_alice"
    assert control.stats()["calls"][LOGIN] == 2


def test_timeouts_give_up_within_five_seconds(control: EmulatorControl, wechat: WechatGateway) -> None:
    control.add_fault(LOGIN, delay=8)
    started = time.monotonic()
    with pytest.raises(WechatUnavailable):
        wechat.code_to_session(control.login_code("o_alice"))
    assert time.monotonic() - started < 5.5
    assert 1 <= control.stats()["calls"][LOGIN] <= 3


def test_slow_token_endpoint_counts_against_the_same_deadline(
    control: EmulatorControl, wechat: WechatGateway
) -> None:
    control.add_fault("cgi-bin/stable_token", delay=8)
    control.create_user("o_alice")
    started = time.monotonic()
    with pytest.raises(WechatUnavailable):
        wechat.msg_sec_check("o_alice", "你好")
    assert time.monotonic() - started < 5.5
    assert "wxa/msg_sec_check" not in control.stats()["calls"]


def test_dropped_connection_is_unavailable(control: EmulatorControl, wechat: WechatGateway) -> None:
    control.add_fault(LOGIN, drop=True)
    started = time.monotonic()
    with pytest.raises(WechatUnavailable):
        wechat.code_to_session(control.login_code("o_alice"))
    assert time.monotonic() - started < 5.5
    assert control.stats()["calls"][LOGIN] == 3


def test_dropped_connection_recovers_on_retry(control: EmulatorControl, wechat: WechatGateway) -> None:
    control.add_fault(LOGIN, drop=True, times=1)
    assert wechat.code_to_session(control.login_code("o_alice")).openid == "o_alice"


def test_a_send_whose_answer_was_lost_is_not_repeated(
    control: EmulatorControl, make_gateway: GatewayFactory
) -> None:
    # WeChat may have delivered it: repeating would send the member the same notice twice.
    wechat = make_gateway(timeout=0.5)
    control.grant("o_alice", NOTICE_TEMPLATE, 2)
    wechat.access_token()
    control.add_fault(SEND, delay=1.0, times=1)
    with pytest.raises(WechatUnavailable) as caught:
        wechat.send_subscribe_message("o_alice", NOTICE_TEMPLATE, NOTICE)
    assert caught.value.outcome_unknown
    deadline = time.monotonic() + 5
    while control.stats()["send_count"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    stats = control.stats()
    assert stats["calls"][SEND] == 1
    assert stats["send_count"] == 1  # the slow send did go through

    control.add_fault(SEND, drop=True, times=1)
    with pytest.raises(WechatUnavailable):
        wechat.send_subscribe_message("o_alice", NOTICE_TEMPLATE, NOTICE)
    assert control.stats()["calls"][SEND] == 2


def test_unreachable_wechat_is_unavailable_quickly(make_gateway: GatewayFactory) -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    wechat = make_gateway(api_base=f"http://127.0.0.1:{port}/")
    started = time.monotonic()
    with pytest.raises(WechatUnavailable) as caught:
        wechat.send_subscribe_message("o_alice", NOTICE_TEMPLATE, NOTICE)
    assert time.monotonic() - started < 5.5
    assert not caught.value.outcome_unknown  # never connected: certainly not sent


def test_random_failures_are_absorbed(control: EmulatorControl, wechat: WechatGateway) -> None:
    control.add_fault(LOGIN, errcode=-1, rate=0.3)
    for index in range(20):
        assert wechat.code_to_session(control.login_code(f"o_{index}")).openid == f"o_{index}"
    assert control.stats()["calls"][LOGIN] > 20
