"""The emulator's root page says in Chinese what it is (issue 12: a newcomer opens the printed address)."""

from __future__ import annotations

import requests

from backend.wechat.emulator import EmulatorControl, EmulatorServer
from tests.backend.wechat.conftest import APPID


def test_the_root_page_says_what_this_is(control: EmulatorControl, emulator_server: EmulatorServer) -> None:
    response = requests.get(emulator_server.base_url, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = response.text
    assert "微信接口模拟器" in page and "这不是微信" in page and "开发" in page and "测试" in page
    assert APPID in page and "WECHAT_API_BASE" in page
    for path in ("/sns/jscode2session", "/cgi-bin/message/subscribe/send", "/_emulator/login-code"):
        assert path in page, path
    assert f"{emulator_server.base_url}_emulator/login-code" in page  # a command that works as printed


def test_the_root_page_is_not_a_wechat_call(
    control: EmulatorControl, emulator_server: EmulatorServer
) -> None:
    assert requests.get(emulator_server.base_url, timeout=5).status_code == 200
    assert control.stats(sends=False)["calls"] == {}  # WeChat's call counts stay WeChat's
