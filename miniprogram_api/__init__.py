"""The mini-program's JSON API under /api/v1 (API.md), documented at /api/v1/openapi.json."""

from __future__ import annotations

from flask import Flask, Response, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path

from backend.extensions import csrf
from backend.wechat import callback as wechat_callback
from miniprogram_api import (
    account,
    activities,
    announcements,
    care,
    hardship,
    messages,
    meta,
    session,
    uploads,
)

BLUEPRINTS = (
    session.blp,
    meta.blp,
    messages.blp,
    account.blp,
    announcements.blp,
    uploads.blp,
    activities.blp,
    hardship.blp,
    care.blp,
)


def register_api(app: Flask, api: Api) -> None:
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for blueprint in BLUEPRINTS:
        # Bearer tokens, not cookies: there is no ambient credential for CSRF to abuse.
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    meta.register_root_health(app)
    # WeChat's message push: signed by WeChat, not a browser form, so no CSRF token either.
    csrf.exempt(wechat_callback.blp)
    app.register_blueprint(wechat_callback.blp)
    register_docs_assets(app)


def _swagger_ui_asset(filename: str) -> Response:
    """Swagger UI's files from the installed package: the docs page works without internet."""
    return send_from_directory(swagger_ui_path, filename, max_age=86400)


def register_docs_assets(app: Flask) -> None:
    app.add_url_rule("/api/static/swagger-ui/<path:filename>", "swagger_ui_asset", _swagger_ui_asset)
