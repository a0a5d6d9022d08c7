"""The mini-program's JSON API under /api/v1 (API.md), documented at /api/v1/openapi.json."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from backend.extensions import csrf
from miniprogram_api import meta, session

BLUEPRINTS = (session.blp, meta.blp)


def register_api(app: Flask, api: Api) -> None:
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for blueprint in BLUEPRINTS:
        # Bearer tokens, not cookies: there is no ambient credential for CSRF to abuse.
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    meta.register_root_health(app)
