"""Load balancers' checks: /readyz is 503 while the database cannot be reached; both answer JSON."""

from __future__ import annotations

from backend import create_app
from tests.conftest import app_settings


def test_readyz_is_503_when_the_database_is_unreachable(emulator, tmp_path_factory, tmp_path):
    not_a_database = tmp_path / "union.db"
    not_a_database.mkdir()  # SQLite cannot open a directory
    app = create_app(
        app_settings(emulator, tmp_path_factory, SQLALCHEMY_DATABASE_URI=f"sqlite:///{not_a_database}")
    )
    for path in ("/readyz", "/api/v1/readyz"):
        response = app.test_client().get(path)
        body = response.get_json()
        assert response.status_code == 503 and body["error"] == "not_ready", path
        assert body["checks"]["database"].startswith("error"), path
    assert app.test_client().get("/healthz").status_code == 200  # the process itself is alive


def test_errors_on_the_root_health_checks_are_json(client):
    for path in ("/healthz", "/readyz"):
        response = client.post(path)
        assert response.status_code == 405 and response.get_json()["error"] == "method_not_allowed", path
