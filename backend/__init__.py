"""The application factory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from backend import crypto
from backend.config import load_settings
from backend.db import MAX_ID
from backend.extensions import api, celery, csrf, db, limiter, login_manager, migrate
from backend.input_guard import refuse_unstorable_text
from backend.uploads.at_rest import InMemoryFilesRequest


class DatabaseId(IntegerConverter):
    """``<int:…>`` for ids: 0 … 2**31 - 1, the range of PostgreSQL's ``integer`` primary keys."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. `config` overrides settings read from the environment (tests use it)."""
    app = Flask(__name__, instance_relative_config=False, template_folder=None, static_folder=None)
    app.request_class = InMemoryFilesRequest  # uploads never reach the disk unencrypted, not even in /tmp
    app.config.update(load_settings(config))
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese stays readable in JSON
    # Every `<int:…>` in a route is a database id: one beyond the column's range is a 404, not a 500.
    app.url_map.converters["int"] = DatabaseId
    _prepare_local_dirs(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if app.config["TRUSTED_PROXIES"]:
        # Behind N reverse proxies: the client's address (audit rows, rate limits) and scheme come
        # from their X-Forwarded-* headers. Never set it without a proxy: clients could forge them.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def _prepare_local_dirs(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)


def register_extensions(app: Flask) -> None:
    from backend import models  # noqa: F401  (every model registered before migrations look)
    from backend.jobs import configure_celery
    from backend.wechat.gateway import gateway

    crypto.configure(app.config["DATA_KEY"], app.config.get("DATA_INDEX_KEY"))
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    api.init_app(app)
    login_manager.init_app(app)
    # Before CSRFProtect's hook, which reads the form and trips over a multipart part without a name.
    app.before_request(refuse_unstorable_text)
    csrf.init_app(app)
    limiter.init_app(app)
    gateway.init_app(app)
    configure_celery(celery, app)

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _sqlite_pragmas(app)

    @app.before_request
    def _remember_origin() -> None:
        from backend.audit.operations import set_origin

        set_origin(request.remote_addr, request.user_agent.string)


def _sqlite_pragmas(app: Flask) -> None:
    """SQLite enforces foreign keys only when asked, and copes with a web and a worker process in WAL."""
    import sqlalchemy as sa

    with app.app_context():
        engine = db.engine

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()
            # pysqlite would otherwise BEGIN only before DML, so a SAVEPOINT opened first would start
            # (and its RELEASE commit) the real transaction: SQLAlchemy emits BEGIN itself instead.
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            # IMMEDIATE: take the write lock up front. A deferred transaction that reads and then
            # writes fails at once with "database is locked" when another connection wrote meanwhile
            # (busy_timeout cannot help there); waiting our turn is right for the one-machine default.
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def register_blueprints(app: Flask) -> None:
    # The factory is where the doors meet the core; no other module of backend/ imports them.
    from admin import register_admin
    from miniprogram_api import register_api

    register_api(app, api)
    register_admin(app)


def register_errorhandlers(app: Flask) -> None:
    from backend.http_errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from backend.cli import register

    register(app)
