"""Fixtures: one WeChat emulator over real HTTP on loopback for the session, reset before each test.

Named apart from tests/conftest.py's ``emulator``/``emu`` (this folder's emulator has its own templates).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from backend.wechat.emulator import EmulatorControl, EmulatorServer
from backend.wechat.gateway import WechatGateway
from backend.wechat.token_store import RedisTokenStore

APPID = "wx_demo_appid"
SECRET = "demo_secret"
NOTICE_TEMPLATE = "tmpl_notice"
# One field of every type the gateway fits, to hold fit_template_data to the emulator's rules.
ALL_TYPES_TEMPLATE = "tmpl_all_types"
ALL_TYPES_FIELDS = {
    "thing1": "thing",
    "phrase2": "phrase",
    "name3": "name",
    "character_string4": "character_string",
    "number5": "number",
    "letter6": "letter",
    "symbol7": "symbol",
    "time8": "time",
    "date9": "date",
    "amount10": "amount",
    "phone_number11": "phone_number",
}
TEMPLATES: dict[str, Any] = {
    NOTICE_TEMPLATE: {"thing1": "thing", "time2": "time"},
    ALL_TYPES_TEMPLATE: ALL_TYPES_FIELDS,
}


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    """The WeChat emulator, served on a free port for the whole session."""
    with EmulatorServer(appid=APPID, secret=SECRET, templates=TEMPLATES) as server:
        yield server


@pytest.fixture
def control(emulator_server: EmulatorServer) -> Iterator[EmulatorControl]:
    """The emulator's control API, with the emulator reset to a blank state."""
    control = EmulatorControl(emulator_server.base_url)
    control.reset()
    yield control
    control.close()


GatewayFactory = Callable[..., WechatGateway]


@pytest.fixture
def make_gateway(emulator_server: EmulatorServer) -> Iterator[GatewayFactory]:
    """Build standalone gateways pointed at the emulator; closed after the test."""
    made: list[WechatGateway] = []

    def make(**settings: Any) -> WechatGateway:
        options: dict[str, Any] = {"appid": APPID, "secret": SECRET, "api_base": emulator_server.base_url}
        options.update(settings)
        gateway = WechatGateway.from_settings(**options)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()


@pytest.fixture
def wechat(control: EmulatorControl, make_gateway: GatewayFactory) -> WechatGateway:
    """A gateway with an in-memory token store, talking to a freshly reset emulator."""
    return make_gateway()


@pytest.fixture
def redis_store_factory() -> Iterator[Callable[[], RedisTokenStore]]:
    """Redis token stores sharing one fresh key prefix (skips without TEST_REDIS_URL)."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set")
    prefix = f"test-wechat-{uuid.uuid4().hex}"
    stores: list[RedisTokenStore] = []

    def make() -> RedisTokenStore:
        store = RedisTokenStore.from_url(url, APPID, prefix=prefix)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.clear()
        store._redis.close()
