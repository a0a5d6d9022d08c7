"""Browser tests: one seeded union, one live server, one Chromium for the package; one signed-in
context per width (1366 × 768 and 390 × 844).

Without Chromium or Playwright the tests skip and say why; with BROWSER_TESTS=required (.ci/run sets
it) they fail instead, so CI cannot pass by skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from backend.extensions import limiter
from tests.browser.harness import (
    WIDTHS,
    LiveServer,
    World,
    chromium_path,
    launch,
    seed_world,
    signed_in_context,
)
from tests.conftest import truncate_all


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -r requirements-dev.txt)"
    if chromium_path() is None:
        return "no Chromium: apt-get install chromium fonts-noto-cjk, or set CHROMIUM to its path"
    return None


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    """Replaces tests/conftest.py's per-test emptying: the package shares one seeded union (`world`),
    and the tests here only read it or send forms that are refused."""
    yield


@pytest.fixture(scope="package")
def world(app: Flask, emulator: Any) -> World:
    truncate_all(app)
    with app.app_context():
        limiter.reset()
    return seed_world(app, emulator.base_url)


@pytest.fixture(scope="package")
def live(app: Flask, world: World) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    reason = _unavailable()
    if reason:
        if os.environ.get("BROWSER_TESTS") == "required":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def contexts(browser: Any, live: LiveServer, world: World) -> Iterator[dict[str, Any]]:
    """A context per width, signed in through the login form as the seeded 系统管理员."""
    with (
        signed_in_context(browser, live.url, world.admin_username, WIDTHS["desktop"]) as desktop,
        signed_in_context(browser, live.url, world.admin_username, WIDTHS["phone"]) as phone,
    ):
        yield {"desktop": desktop, "phone": phone}


@pytest.fixture
def new_page(contexts: dict[str, Any]) -> Iterator[Any]:
    """`new_page("phone")`: a fresh tab in that width's signed-in context, closed after the test."""
    opened: list[Any] = []

    def _open(width: str) -> Any:
        page = contexts[width].new_page()
        page.set_default_timeout(10_000)
        opened.append(page)
        return page

    yield _open
    for page in opened:
        page.close()
