"""In Chromium: the roster import's page polls the job (roster.js, under the admin's script-src 'self'
policy), moves its progress bar while a worker imports, and shows the report once the job is done.

Skips (and says why) without Playwright or a Chromium; BROWSER_TESTS=required makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import threading
from typing import Any

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from backend.db import unit_of_work
from backend.extensions import db
from backend.members.roster import background, importing
from backend.staff.models import Role, Staff
from tests.backend.members.test_roster import csv_file
from tests.factories import PASSWORD, make_staff

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _chromium() -> str | None:
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured if os.path.exists(configured) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -r requirements-dev.txt)"
    return None if _chromium() else "no Chromium: apt-get install chromium, or set CHROMIUM to its path"


def _console_error(message: Any, errors: list[str]) -> None:
    """Console errors (a CSP refusal is one) other than the browser's own request for /favicon.ico."""
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        errors.append(message.text)


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture
def live(app):
    reason = _unavailable()
    if reason:
        if os.environ.get("BROWSER_TESTS") == "required":
            pytest.fail(reason)
        pytest.skip(reason)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_the_progress_bar_follows_the_job_and_the_report_replaces_it(app, union, live, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setattr(background, "_enqueue", lambda import_id: None)  # the test is the worker
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
    monkeypatch.setattr(background, "CHUNK_ROWS", 2)
    staff_id = make_staff(app, Role.officer, union.root, username="roster-browser")
    rows = [[f"职工{n}", f"B{n:03d}", "", "甲一组", "", ""] for n in range(6)]
    with app.app_context(), unit_of_work():
        import_id = background.queue_import(
            csv_file(rows), "名册.csv", staff=db.session.get(Staff, staff_id)
        ).id

    halfway, go_on = threading.Event(), threading.Event()
    original = importing.Importer.apply

    def apply(self, start, stop, progress=None):
        if start == 2:  # the first chunk is committed: hold the run there until the page has seen it
            halfway.set()
            go_on.wait(30)
        return original(self, start, stop, progress)

    monkeypatch.setattr(importing.Importer, "apply", apply)

    def worker() -> None:
        with app.app_context():
            background.run_import(import_id)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda message: _console_error(message, errors))
            page.goto(f"{live}/admin/login")
            page.fill("input[name=username]", "roster-browser")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.goto(f"{live}/admin/roster/imports/{import_id}")
            assert page.locator(".roster-progress-text").inner_text().startswith("排队等候中")

            running = threading.Thread(target=worker, daemon=True)
            running.start()
            assert halfway.wait(30)
            page.wait_for_function(
                "() => { const bar = document.querySelector('progress');"
                " return bar && bar.max === 6 && bar.value === 2; }",
                timeout=15_000,
            )
            assert page.locator(".roster-progress-text").inner_text() == "已处理 2 / 6 行（33%）"
            go_on.set()
            running.join(30)
            page.wait_for_selector("text=导入完成：新增 6 人", timeout=15_000)
            assert page.locator("h1").inner_text().startswith("导入结果")
            assert page.locator("progress").count() == 0
            assert errors == []  # no CSP refusal, no script error
        finally:
            go_on.set()
            browser.close()
