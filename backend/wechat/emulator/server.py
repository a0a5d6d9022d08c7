"""The emulator as a Flask app (WeChat's endpoints and the control API), served in a thread for tests or
in the foreground for ``flask wechat-emulator``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server, run_simple

from backend.wechat.emulator.control import control
from backend.wechat.emulator.index import index
from backend.wechat.emulator.routes import answer_api_error, api, count_and_fail
from backend.wechat.emulator.state import (
    CODE_TTL,
    DEFAULT_REVIEW_WORDS,
    DEFAULT_RISKY_WORDS,
    TOKEN_TTL,
    ApiError,
    EmulatorState,
    normalise_templates,
)

logger = logging.getLogger(__name__)


def create_emulator_app(
    appid: str = "wx_demo_appid",
    secret: str = "demo_secret",
    *,
    templates: Mapping[str, Any] | None = None,
    code_ttl: float = CODE_TTL,
    token_ttl: float = TOKEN_TTL,
    risky_words: Sequence[str] = DEFAULT_RISKY_WORDS,
    review_words: Sequence[str] = DEFAULT_REVIEW_WORDS,
    seed: int = 0,
) -> Flask:
    """The emulator as a Flask app.

    templates: template_id → fields, or the app's WECHAT_TEMPLATES as they are (see normalise_templates).
    """
    app = Flask(__name__)
    # A dropped-connection fault must reach werkzeug as an exception, not become a 500 page.
    app.config["PROPAGATE_EXCEPTIONS"] = True
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    state = EmulatorState(
        appid=appid,
        secret=secret,
        code_ttl=code_ttl,
        token_ttl=token_ttl,
        risky_words=tuple(risky_words),
        review_words=tuple(review_words),
        seed=seed,
        initial_templates=normalise_templates(templates),
    )
    app.extensions["wechat_emulator"] = state
    app.before_request(count_and_fail)
    app.register_blueprint(api)
    app.register_blueprint(control)
    app.add_url_rule("/", "index", index)  # says what this is, in Chinese, to whoever opens it
    app.register_error_handler(ApiError, answer_api_error)
    return app


class _QuietRequestHandler(WSGIRequestHandler):
    """No access log: request lines carry the app secret and login codes in their query strings."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class EmulatorServer:
    """The emulator served over real HTTP on loopback in a daemon thread (port 0: a free port).

    ``with EmulatorServer() as emu: requests.post(emu.base_url + "_emulator/login-code", ...)``
    """

    def __init__(
        self, app: Flask | None = None, *, host: str = "127.0.0.1", port: int = 0, **app_options: Any
    ) -> None:
        self.app = app or create_emulator_app(**app_options)
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> EmulatorState:
        """The emulator's memory, for tests in the same process."""
        return self.app.extensions["wechat_emulator"]

    @property
    def base_url(self) -> str:
        """Where to point WECHAT_API_BASE, e.g. ``http://127.0.0.1:PORT/``."""
        if self._server is None:
            raise RuntimeError("EmulatorServer is not started")
        return f"http://{self.host}:{self._server.server_port}/"

    def start(self) -> EmulatorServer:
        """Start serving in a background thread."""
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="wechat-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_emulator(
    host: str = "127.0.0.1",
    port: int = 5001,
    appid: str = "wx_demo_appid",
    secret: str = "demo_secret",
    templates: Mapping[str, Any] | None = None,
) -> None:
    """Serve the emulator in the foreground (``flask wechat-emulator``) until interrupted."""
    app = create_emulator_app(appid, secret, templates=templates)
    logger.info("WeChat emulator for %s on http://%s:%s/ (not WeChat!)", appid, host, port)
    run_simple(host, port, app, threaded=True, use_reloader=False, request_handler=_QuietRequestHandler)
