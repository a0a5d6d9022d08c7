"""The gateway's calls against the emulator over real HTTP: answers, errors, routing, logs."""

from __future__ import annotations

import io
import logging

import pytest
from flask import Flask
from PIL import Image
from wechatpy.client.api.base import BaseWeChatAPI

from backend.wechat.emulator import EmulatorControl, EmulatorServer
from backend.wechat.gateway import WechatError, WechatGateway, WechatUnavailable, WxSession, gateway
from tests.backend.wechat.conftest import APPID, NOTICE_TEMPLATE, SECRET, GatewayFactory

NOTICE = {"thing1": "职工篮球赛报名开始", "time2": "2024-05-01 09:30"}


def test_every_wechatpy_base_url_is_rerouted(emulator_server: EmulatorServer, wechat: WechatGateway) -> None:
    client = wechat.client
    assert emulator_server.base_url + "cgi-bin/" == client.API_BASE_URL
    assert emulator_server.base_url == client.wxa.API_BASE_URL
    groups = [value for value in vars(client).values() if isinstance(value, BaseWeChatAPI)]
    bases = [group.API_BASE_URL for group in groups if getattr(group, "API_BASE_URL", None)]
    assert bases
    assert all(base.startswith(emulator_server.base_url) for base in bases)


def test_hardcoded_absolute_urls_reach_the_emulator(control: EmulatorControl, wechat: WechatGateway) -> None:
    # customservice passes absolute https://api.weixin.qq.com/... URLs, bypassing API_BASE_URL.
    with pytest.raises(WechatUnavailable):  # the emulator does not implement it: HTTP 404
        wechat.client.customservice.add_account("kf@test", "客服", "secret")
    assert control.stats()["calls"]["customservice/kfaccount/add"] == 1


def test_requests_outside_the_base_are_refused(wechat: WechatGateway) -> None:
    with pytest.raises(ValueError):
        wechat.client.get("https://example.com/cgi-bin/anything")


def test_all_calls_hit_the_emulator(control: EmulatorControl, wechat: WechatGateway) -> None:
    control.grant("o_alice", NOTICE_TEMPLATE, 1)
    wechat.code_to_session(control.login_code("o_alice"))
    wechat.get_phone_number(control.phone_code("o_alice", "13800138000"))
    wechat.send_subscribe_message("o_alice", NOTICE_TEMPLATE, NOTICE)
    wechat.msg_sec_check("o_alice", "你好")
    wechat.get_wxa_code_unlimited("a=1", "pages/index/index")
    assert control.stats()["calls"] == {
        "cgi-bin/stable_token": 1,
        "sns/jscode2session": 1,
        "wxa/business/getuserphonenumber": 1,
        "cgi-bin/message/subscribe/send": 1,
        "wxa/msg_sec_check": 1,
        "wxa/getwxacodeunlimit": 1,
    }


def test_code_to_session_answers_openid_and_unionid(control: EmulatorControl, wechat: WechatGateway) -> None:
    session = wechat.code_to_session(control.login_code("o_alice", unionid="u_alice"))
    assert isinstance(session, WxSession)
    assert (session.openid, session.unionid) == ("o_alice", "u_alice")
    assert session.session_key
    assert session.session_key not in repr(session)
    assert wechat.code_to_session(control.login_code("o_bob")).unionid is None


def test_login_code_is_single_use(control: EmulatorControl, wechat: WechatGateway) -> None:
    code = control.login_code("o_alice")
    wechat.code_to_session(code)
    with pytest.raises(WechatError) as caught:
        wechat.code_to_session(code)
    assert caught.value.errcode == 40163


def test_login_code_expires_after_five_minutes(control: EmulatorControl, wechat: WechatGateway) -> None:
    fresh, stale = control.login_code("o_alice"), control.login_code("o_alice")
    control.advance_clock(299)
    wechat.code_to_session(fresh)
    control.advance_clock(2)
    with pytest.raises(WechatError) as caught:
        wechat.code_to_session(stale)
    assert caught.value.errcode == 40029


def test_unknown_login_code_is_invalid(control: EmulatorControl, wechat: WechatGateway) -> None:
    with pytest.raises(WechatError) as caught:
        wechat.code_to_session("not-a-code")
    assert caught.value.errcode == 40029
    assert not isinstance(caught.value, WechatUnavailable)


def test_risky_user_is_refused(control: EmulatorControl, wechat: WechatGateway) -> None:
    control.create_user("o_risky", risky=True)
    with pytest.raises(WechatError) as caught:
        wechat.code_to_session(control.login_code("o_risky"))
    assert caught.value.errcode == 40226


def test_wrong_secret_is_refused(control: EmulatorControl, make_gateway: GatewayFactory) -> None:
    with pytest.raises(WechatError) as caught:
        make_gateway(secret="wrong").access_token()
    assert caught.value.errcode == 40125


def test_phone_number_from_a_single_use_code(control: EmulatorControl, wechat: WechatGateway) -> None:
    code = control.phone_code("o_alice", "13912345678")
    assert wechat.get_phone_number(code) == "13912345678"
    with pytest.raises(WechatError) as caught:
        wechat.get_phone_number(code)
    assert caught.value.errcode == 40029


def test_send_spends_one_credit_and_fails_without_one(
    control: EmulatorControl, wechat: WechatGateway
) -> None:
    control.grant("o_alice", NOTICE_TEMPLATE, 1)
    wechat.send_subscribe_message("o_alice", NOTICE_TEMPLATE, NOTICE, page="pages/activities/detail?id=3")
    assert control.credits("o_alice", NOTICE_TEMPLATE) == 0
    with pytest.raises(WechatError) as caught:
        wechat.send_subscribe_message("o_alice", NOTICE_TEMPLATE, NOTICE)
    assert caught.value.errcode == 43101
    stats = control.stats()
    assert stats["calls"]["cgi-bin/message/subscribe/send"] == 2  # 43101 is not retried
    [sent] = stats["sends"]
    assert sent["data"] == NOTICE
    assert (sent["page"], sent["miniprogram_state"], sent["lang"]) == (
        "pages/activities/detail?id=3",
        "formal",
        "zh_CN",
    )


def test_send_checks_openid_template_and_state(control: EmulatorControl, wechat: WechatGateway) -> None:
    control.grant("o_alice", NOTICE_TEMPLATE, 5)
    cases = [
        ({"openid": "o_nobody"}, 40003),
        ({"template_id": "tmpl_unknown"}, 40037),
        ({"miniprogram_state": "production"}, 47003),
        ({"data": {"thing1": "", "time2": "2024-05-01 09:30"}}, 47003),
        ({"data": {"thing1": "报名", "time2": "明天上午"}}, 47003),
        ({"data": {"thing1": "报名"}}, 47003),
    ]
    for change, errcode in cases:
        call = {"openid": "o_alice", "template_id": NOTICE_TEMPLATE, "data": NOTICE, **change}
        with pytest.raises(WechatError) as caught:
            wechat.send_subscribe_message(**call)
        assert caught.value.errcode == errcode, change
    assert control.credits("o_alice", NOTICE_TEMPLATE) == 5


def test_msg_sec_check_verdicts(control: EmulatorControl, wechat: WechatGateway) -> None:
    control.create_user("o_alice")
    assert wechat.msg_sec_check("o_alice", "周末一起打球").suggest == "pass"
    assert wechat.msg_sec_check("o_alice", "周末一起打球").passed
    review = wechat.msg_sec_check("o_alice", "我要投诉食堂")
    assert (review.suggest, review.passed) == ("review", False)
    risky = wechat.msg_sec_check("o_alice", "有人组织赌博")
    assert risky.suggest == "risky"
    assert risky.label != 100
    assert risky.trace_id


def test_wxa_code_is_a_png_carrying_the_scene(control: EmulatorControl, wechat: WechatGateway) -> None:
    png = wechat.get_wxa_code_unlimited("act=42", "pages/checkin/index")
    assert png.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.text["scene"] == "act=42"  # type: ignore[attr-defined]


def test_wxa_code_rules(control: EmulatorControl, wechat: WechatGateway) -> None:
    with pytest.raises(WechatError) as caught:
        wechat.get_wxa_code_unlimited("x" * 33, "pages/index/index")
    assert caught.value.errcode == 40169
    with pytest.raises(WechatError) as caught:
        wechat.get_wxa_code_unlimited("a=1", "/pages/index/index")
    assert caught.value.errcode == 41030


def test_flask_extension_resolves_the_current_app(
    control: EmulatorControl, emulator_server: EmulatorServer
) -> None:
    app = Flask(__name__)
    app.config.update(
        WECHAT_APPID=APPID, WECHAT_SECRET=SECRET, WECHAT_API_BASE=emulator_server.base_url, REDIS_URL=None
    )
    gateway.init_app(app)
    assert isinstance(app.extensions["wechat"], WechatGateway)
    try:
        with app.app_context():
            assert gateway.code_to_session(control.login_code("o_alice")).openid == "o_alice"
        with pytest.raises(RuntimeError):
            gateway.access_token()  # no app context
    finally:
        app.extensions["wechat"].close()


def test_secrets_never_reach_the_logs(
    control: EmulatorControl, wechat: WechatGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    control.expire_tokens()
    session = wechat.code_to_session(control.login_code("o_alice"))
    control.grant("o_alice", NOTICE_TEMPLATE, 1)
    wechat.send_subscribe_message("o_alice", NOTICE_TEMPLATE, NOTICE)
    control.expire_tokens()  # a refresh, logged, on the way
    wechat.msg_sec_check("o_alice", "你好")
    token = wechat.access_token()
    assert "refreshing once" in caplog.text
    assert session.session_key not in caplog.text
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("backend."))
    assert token not in ours
    assert SECRET not in ours
