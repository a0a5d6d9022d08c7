"""Test harness: one app per session on SQLite or, with TEST_DATABASE_URL, PostgreSQL; the WeChat
emulator over real HTTP on 127.0.0.1; a clean database for every test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from backend import create_app
from backend.config import DEMO_TEMPLATES
from backend.extensions import db, limiter
from backend.staff.models import Role
from backend.wechat.emulator import EmulatorControl, EmulatorServer
from tests.factories import Union, empty_upload_dir, make_staff, make_union


def _own_database(url: str, worker: str) -> str:
    """Under pytest-xdist each worker truncates and rebuilds its schema at will, so each gets a database
    of its own beside the one named (``test`` → ``test_gw0``), made on first use."""
    base = sa.make_url(url)
    name = f"{base.database}_{worker}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _own_redis_db(url: str, worker: str) -> str:
    """Each xdist worker on a Redis database number of its own (the named one + 1 + the worker's index)."""
    parts = urlsplit(url)
    number = (int(parts.path.strip("/") or 0) + 1 + int(worker.removeprefix("gw"))) % 16
    return urlunsplit(parts._replace(path=f"/{number}"))


_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1" … in a pytest-xdist worker, else unset
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
if _WORKER and TEST_DATABASE_URL:
    TEST_DATABASE_URL = os.environ["TEST_DATABASE_URL"] = _own_database(TEST_DATABASE_URL, _WORKER)
if _WORKER and TEST_REDIS_URL:
    TEST_REDIS_URL = os.environ["TEST_REDIS_URL"] = _own_redis_db(TEST_REDIS_URL, _WORKER)
ON_POSTGRES = bool(TEST_DATABASE_URL)

requires_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="row locks and concurrent transactions need PostgreSQL: set TEST_DATABASE_URL"
)
requires_redis = pytest.mark.skipif(not TEST_REDIS_URL, reason="needs Redis: set TEST_REDIS_URL")


def emulator_templates() -> dict[str, dict[str, str]]:
    return {spec["template_id"]: spec["fields"] for spec in DEMO_TEMPLATES.values()}


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(
        appid="wx_test_appid", secret="test_secret", templates=emulator_templates()
    ) as server:
        yield server


class Emulator(EmulatorControl):
    """The emulator's control API over HTTP, as tests and demos use it, like an outside program would."""

    def post(self, endpoint: str, **body: Any) -> dict[str, Any]:
        return self._call("POST", endpoint, json=body)

    fault = EmulatorControl.add_fault


@pytest.fixture
def emu(emulator: EmulatorServer) -> Iterator[Emulator]:
    control = Emulator(emulator.base_url)
    control.reset()
    yield control
    control.reset()
    control.close()


def app_settings(
    emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory, **extra: Any
) -> dict[str, Any]:
    database_url = TEST_DATABASE_URL or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    return {
        "APP_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "DATA_KEY": "test-data-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": None,
        "WECHAT_APPID": "wx_test_appid",
        "WECHAT_SECRET": "test_secret",
        "WECHAT_API_BASE": emulator.base_url,
        "WECHAT_TIMEOUT": 2.0,
        "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
        "WTF_CSRF_ENABLED": True,
        # Flask-Limiter keeps one storage per process: an extra app made with REDIS_URL (the worker tests)
        # must not move the session app's rate limits into a Redis that a test later stops.
        "RATELIMIT_STORAGE_URI": "memory://",
        "SERVER_NAME": None,
        **extra,
    }


def _reset_schema(app: Flask) -> None:
    """Builds the schema with the migrations (so every run proves they reach head)."""
    from flask_migrate import upgrade

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA public CASCADE"))
                connection.execute(sa.text("CREATE SCHEMA public"))
        else:
            db.drop_all()
            with db.engine.begin() as connection:
                connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()


@pytest.fixture(scope="session")
def app(emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    application = create_app(app_settings(emulator, tmp_path_factory))
    _reset_schema(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def truncate_all(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    connection.execute(sa.text(f"DELETE FROM {table}"))


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test that uses the app starts from an empty database and fresh rate limits."""
    if "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    truncate_all(app)
    with app.app_context():
        limiter.reset()
    yield
    with app.app_context():
        db.session.remove()


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the test runs while it holds this fixture, in order (to count queries)."""
    seen: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", listener)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """An app context for tests that read or write the database directly."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def union(app: Flask) -> Union:
    """The small union most tests work in: root → branches A and B → one group each."""
    return make_union(app)


@pytest.fixture
def root_officer(app: Flask, union: Union) -> int:
    """An officer (工会干事) whose scope is the whole union: the staff id."""
    return make_staff(app, Role.officer, union.root)


@pytest.fixture
def upload_dir(app: Flask) -> Path:
    """The session's UPLOAD_DIR, emptied of upload files for this test."""
    return empty_upload_dir(app)


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@contextmanager
def app_on_own_database(
    emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory, schema: str
) -> Iterator[Flask]:
    """An app on an empty database of its own (a separate schema on PostgreSQL), for migration tests
    that build an old schema and fill it as the product then wrote it."""
    admin_engine = sa.create_engine(TEST_DATABASE_URL) if TEST_DATABASE_URL else None
    if admin_engine is not None:
        with admin_engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
        url = sa.make_url(str(TEST_DATABASE_URL)).update_query_dict({"options": f"-csearch_path={schema}"})
        database_url = url.render_as_string(hide_password=False)
    else:
        database_url = f"sqlite:///{tmp_path_factory.mktemp('migration') / 'old.db'}"
    application = create_app(app_settings(emulator, tmp_path_factory, SQLALCHEMY_DATABASE_URI=database_url))
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        if admin_engine is not None:
            with admin_engine.begin() as connection:
                connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin_engine.dispose()
