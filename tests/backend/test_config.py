"""Settings: production refuses to start without its secrets; development works with none."""

from __future__ import annotations

import pytest

from backend import create_app
from backend.config import load_settings
from backend.errors import ConfigurationError

SECRETS = {"SECRET_KEY": "s" * 32, "DATA_KEY": "d" * 32, "WECHAT_SECRET": "w" * 16, "WECHAT_APPID": "wx1"}


@pytest.fixture
def clean_env(monkeypatch):
    for name in (
        "APP_ENV",
        "SECRET_KEY",
        "DATA_KEY",
        "WECHAT_SECRET",
        "WECHAT_APPID",
        "DATABASE_URL",
        "REDIS_URL",
        "WECHAT_API_BASE",
        "WECHAT_TEMPLATES",
        "DATA_INDEX_KEY",
        "API_DOCS_ENABLED",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATA_KEY", "WECHAT_SECRET"])
def test_production_refuses_to_start_without_a_secret(clean_env, missing):
    clean_env.setenv("APP_ENV", "production")
    for name, value in SECRETS.items():
        if name != missing:
            clean_env.setenv(name, value)
    with pytest.raises(ConfigurationError, match=missing):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_with_its_secrets_starts_and_talks_to_real_wechat(clean_env):
    clean_env.setenv("APP_ENV", "production")
    for name, value in SECRETS.items():
        clean_env.setenv(name, value)
    settings = load_settings({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert settings["WECHAT_API_BASE"] == "https://api.weixin.qq.com/"
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["WECHAT_TEMPLATES"] == {}


def test_development_needs_nothing(clean_env, tmp_path):
    settings = load_settings({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    assert settings["APP_ENV"] == "development"
    assert settings["SECRET_KEY"] and settings["DATA_KEY"]
    assert settings["WECHAT_API_BASE"].startswith("http://127.0.0.1")
    assert set(settings["WECHAT_TEMPLATES"]) == {"announcement", "activity", "application", "care"}


def test_development_data_key_survives_a_restart(clean_env, tmp_path):
    uri = f"sqlite:///{tmp_path / 'union.db'}"
    assert (
        load_settings({"SQLALCHEMY_DATABASE_URI": uri})["DATA_KEY"]
        == load_settings({"SQLALCHEMY_DATABASE_URI": uri})["DATA_KEY"]
    )


def test_development_with_another_database_keeps_its_data_key_in_a_file(clean_env, tmp_path, monkeypatch):
    """A local PostgreSQL without DATA_KEY: the second run must read what the first one wrote."""
    import backend.config

    monkeypatch.setattr(backend.config, "INSTANCE_DIR", tmp_path / "instance")
    clean_env.setenv("DATABASE_URL", "postgresql+psycopg://dev@127.0.0.1:5432/union")
    first, second = load_settings()["DATA_KEY"], load_settings()["DATA_KEY"]
    assert first == second
    key_file = tmp_path / "instance" / "development.datakey"
    assert key_file.read_text() == first and key_file.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("env", ["production", "development"])
def test_several_data_keys_without_an_index_key_are_refused(clean_env, env):
    clean_env.setenv("APP_ENV", env)
    for name, value in SECRETS.items():
        clean_env.setenv(name, value)
    clean_env.setenv("DATA_KEY", "n" * 32 + "," + "d" * 32)
    with pytest.raises(ConfigurationError, match="DATA_INDEX_KEY"):
        load_settings({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    clean_env.setenv("DATA_INDEX_KEY", "d" * 32)
    assert load_settings({"SQLALCHEMY_DATABASE_URI": "sqlite://"})["DATA_INDEX_KEY"] == "d" * 32


def production_app(clean_env, tmp_path):
    clean_env.setenv("APP_ENV", "production")
    for name, value in SECRETS.items():
        clean_env.setenv(name, value)
    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "UPLOAD_DIR": str(tmp_path / "uploads")})


def test_api_docs_are_off_in_production(clean_env, tmp_path):
    client = production_app(clean_env, tmp_path).test_client()
    assert client.get("/api/docs").status_code == 404


def test_api_docs_can_be_turned_on_in_production(clean_env, tmp_path):
    clean_env.setenv("API_DOCS_ENABLED", "1")
    client = production_app(clean_env, tmp_path).test_client()
    assert client.get("/api/docs").status_code == 200


@pytest.mark.parametrize(
    "raw", ["not json", '{"announcement": "tmpl"}', '{"a": {"template_id": 1, "fields": {}}}']
)
def test_bad_wechat_templates_are_refused(clean_env, raw):
    clean_env.setenv("WECHAT_TEMPLATES", raw)
    with pytest.raises(ConfigurationError, match="WECHAT_TEMPLATES"):
        load_settings({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_unknown_app_env_is_refused(clean_env):
    clean_env.setenv("APP_ENV", "staging")
    with pytest.raises(ConfigurationError):
        load_settings()


def test_behind_a_trusted_proxy_the_client_address_comes_from_x_forwarded_for(emulator, tmp_path_factory):
    from flask import request

    from tests.conftest import app_settings

    def remote_addr_seen(trusted: int) -> str:
        app = create_app(
            app_settings(
                emulator, tmp_path_factory, SQLALCHEMY_DATABASE_URI="sqlite://", TRUSTED_PROXIES=trusted
            )
        )
        app.add_url_rule("/api/v1/whoami", "whoami", lambda: request.remote_addr or "")
        return (
            app.test_client()
            .get("/api/v1/whoami", headers={"X-Forwarded-For": "10.1.2.3"})
            .get_data(as_text=True)
        )

    assert remote_addr_seen(1) == "10.1.2.3"
    assert remote_addr_seen(0) == "127.0.0.1"  # without a proxy the header is the client's word only
