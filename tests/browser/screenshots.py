"""`make screenshots`: PNGs of the main admin pages at 1366 × 768 and 390 × 844, for review by eye.

Seeds the browser tests' union (plus more members, so lists page) into a throwaway SQLite database,
serves the app and the WeChat emulator on loopback, signs in through the login form and writes
full-page shots to screenshots/ (ignored by git): `<page>-desktop.png`, `<page>-phone.png`, plus the
phone menu opened and a refused form with its error summary.

    python -m tests.browser.screenshots [folder]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from flask_migrate import upgrade

from backend import create_app
from backend.wechat.emulator import EmulatorServer
from tests.browser.harness import (
    PAGES,
    SCREENSHOTS,
    WIDTHS,
    LiveServer,
    World,
    chromium_path,
    launch,
    page_urls,
    seed_world,
    signed_in_context,
)
from tests.conftest import emulator_templates


def shoot(browser: Any, base_url: str, world: World, urls: dict[str, str], out: Path) -> list[Path]:
    written = []
    for width, viewport in WIDTHS.items():
        signed_out = browser.new_context(viewport=viewport, locale="zh-CN")
        with signed_in_context(browser, base_url, world.admin_username, viewport) as context:
            for name, endpoint in SCREENSHOTS:
                page = (signed_out if endpoint == "admin.login" else context).new_page()
                page.goto(base_url + urls[endpoint])
                written.append(out / f"{name}-{width}.png")
                page.screenshot(path=written[-1], full_page=True)
                page.close()
            page = context.new_page()
            page.goto(base_url + urls["admin.member_new"])
            page.get_by_label("姓名").fill("王五")
            page.get_by_label("手机号").fill("12345")
            page.get_by_role("button", name="保存").click()
            written.append(out / f"90-refused-form-{width}.png")
            page.screenshot(path=written[-1], full_page=True)
            if width == "phone":
                page.goto(base_url + urls["admin.dashboard"])
                page.get_by_role("button", name="菜单").click()
                written.append(out / "91-menu-open-phone.png")
                page.screenshot(path=written[-1])
            page.close()
        signed_out.close()
    return written


def main(folder: str = "screenshots") -> None:
    if chromium_path() is None:
        sys.exit(
            "没有找到 Chromium：请先安装（apt-get install chromium fonts-noto-cjk），或用 CHROMIUM 指定路径"
        )
    from playwright.sync_api import sync_playwright

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as scratch,
        EmulatorServer(appid="wx_shots", secret="shots_secret", templates=emulator_templates()) as emulator,
    ):
        app = create_app(
            {
                "APP_ENV": "testing",
                "SECRET_KEY": "screenshots-secret",
                "DATA_KEY": "screenshots-data-key",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{scratch}/shots.db",
                "REDIS_URL": None,
                "WECHAT_APPID": "wx_shots",
                "WECHAT_SECRET": "shots_secret",
                "WECHAT_API_BASE": emulator.base_url,
                "UPLOAD_DIR": f"{scratch}/uploads",
                "RATELIMIT_STORAGE_URI": "memory://",
            }
        )
        with app.app_context():
            upgrade()
        world = seed_world(app, emulator.base_url, extra_members=30)
        urls = page_urls(app, world, PAGES)
        with LiveServer(app) as live, sync_playwright() as playwright:
            browser = launch(playwright)
            written = shoot(browser, live.url, world, urls, out)
            browser.close()
    print(f"{len(written)} 张截图已写入 {out}/")


if __name__ == "__main__":
    main(*sys.argv[1:2])
