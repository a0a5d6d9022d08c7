"""The emulator itself is strict: WeChat's error codes for bad credentials, tokens and bodies."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from backend.wechat.emulator import EmulatorControl, EmulatorServer, create_emulator_app
from tests.backend.wechat.conftest import APPID, NOTICE_TEMPLATE, SECRET


def _get(server: EmulatorServer, path: str, **params: Any) -> dict[str, Any]:
    return requests.get(server.base_url + path, params=params, timeout=5).json()


def _post(server: EmulatorServer, path: str, body: Any, **params: Any) -> dict[str, Any]:
    return requests.post(server.base_url + path, params=params, json=body, timeout=5).json()


def _stable(server: EmulatorServer, **changes: Any) -> dict[str, Any]:
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, **changes}
    return _post(server, "cgi-bin/stable_token", body)


def test_token_endpoint_checks_credentials(control: EmulatorControl, emulator_server: EmulatorServer) -> None:
    good = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    assert _get(emulator_server, "cgi-bin/token", **{**good, "appid": "wx_other"})["errcode"] == 40013
    assert _get(emulator_server, "cgi-bin/token", **{**good, "secret": "nope"})["errcode"] == 40125
    assert _get(emulator_server, "cgi-bin/token", **{**good, "grant_type": "x"})["errcode"] == 40002
    answer = _get(emulator_server, "cgi-bin/token", **good)
    assert answer["access_token"]
    assert answer["expires_in"] == 7200
    assert control.stats()["token_issuances"] == 1


def test_stable_token_is_stable_until_forced(
    control: EmulatorControl, emulator_server: EmulatorServer
) -> None:
    first = _stable(emulator_server)["access_token"]
    assert _stable(emulator_server)["access_token"] == first
    assert _stable(emulator_server, secret="nope")["errcode"] == 40125
    forced = _stable(emulator_server, force_refresh=True)["access_token"]
    assert forced != first
    assert control.stats()["token_issuances"] == 2
    control.create_user("o_alice")
    check = {"version": 2, "openid": "o_alice", "scene": 2, "content": "你好"}
    assert _post(emulator_server, "wxa/msg_sec_check", check, access_token=first)["errcode"] == 40001
    assert _post(emulator_server, "wxa/msg_sec_check", check, access_token=forced)["errcode"] == 0


def test_api_calls_check_the_token(control: EmulatorControl, emulator_server: EmulatorServer) -> None:
    control.create_user("o_alice")
    check = {"version": 2, "openid": "o_alice", "scene": 2, "content": "你好"}
    assert _post(emulator_server, "wxa/msg_sec_check", check)["errcode"] == 41001
    assert _post(emulator_server, "wxa/msg_sec_check", check, access_token="forged")["errcode"] == 40001
    token = _stable(emulator_server)["access_token"]
    control.advance_clock(7201)
    answer = _post(emulator_server, "wxa/msg_sec_check", check, access_token=token)
    assert answer["errcode"] == 42001
    assert answer["errmsg"].startswith("access_token expired rid: ")


def test_bodies_are_checked(control: EmulatorControl, emulator_server: EmulatorServer) -> None:
    token = _stable(emulator_server)["access_token"]
    control.create_user("o_alice")
    url = emulator_server.base_url + "wxa/msg_sec_check"
    broken = requests.post(url, params={"access_token": token}, data=b"{not json", timeout=5).json()
    assert broken["errcode"] == 47001
    version_one = {"openid": "o_alice", "scene": 2, "content": "你好"}
    assert _post(emulator_server, "wxa/msg_sec_check", version_one, access_token=token)["errcode"] == 47001
    bad_scene = {"version": 2, "openid": "o_alice", "scene": 9, "content": "你好"}
    assert _post(emulator_server, "wxa/msg_sec_check", bad_scene, access_token=token)["errcode"] == 40097


def test_faults_run_out_and_can_be_cleared(control: EmulatorControl, emulator_server: EmulatorServer) -> None:
    control.add_fault("cgi-bin/stable_token", errcode=45011, times=2)
    assert _stable(emulator_server)["errcode"] == 45011
    assert _stable(emulator_server)["errcode"] == 45011
    assert "access_token" in _stable(emulator_server)
    control.add_fault("*", errcode=-1)
    assert _stable(emulator_server)["errcode"] == -1
    control.clear_faults()
    assert "access_token" in _stable(emulator_server)
    with pytest.raises(requests.HTTPError):
        control.add_fault("cgi-bin/stable_token", errcode=-1, explode=True)


def test_reset_forgets_state_but_keeps_templates(control: EmulatorControl) -> None:
    control.add_template("tmpl_extra", ["thing1", "amount2"])
    control.grant("o_alice", NOTICE_TEMPLATE, 3)
    control.reset()
    assert control.credits("o_alice", NOTICE_TEMPLATE) == 0
    with pytest.raises(requests.HTTPError):
        control.grant("o_alice", "tmpl_extra")  # registered after start: gone
    assert control.grant("o_alice", NOTICE_TEMPLATE) == 1  # configured at start: kept


def test_template_fields_accept_the_apps_own_settings() -> None:
    app = create_emulator_app(templates={"tmpl_demo": {"thing1": "title", "time2": "starts_at"}})
    assert app.extensions["wechat_emulator"].templates == {"tmpl_demo": {"thing1": "thing", "time2": "time"}}
    with pytest.raises(ValueError):
        create_emulator_app(templates={"tmpl_bad": ["keyword1"]})


def test_templates_can_come_from_the_app_settings() -> None:
    settings = {"activity": {"template_id": "tmpl_act", "page": "pages/a", "fields": {"thing1": "title"}}}
    app = create_emulator_app(templates=settings)
    assert app.extensions["wechat_emulator"].templates == {"tmpl_act": {"thing1": "thing"}}


def test_servers_get_their_own_free_ports() -> None:
    with EmulatorServer() as one, EmulatorServer() as two:
        assert one.base_url != two.base_url
        assert one.base_url.startswith("http://127.0.0.1:")
        assert one.base_url.endswith("/")
        assert requests.get(two.base_url + "_emulator/stats", timeout=5).json()["token_issuances"] == 0
