"""The staff admin: server-rendered HTML under /admin."""

from __future__ import annotations

from flask import Flask

from admin.views import bp


def register_admin(app: Flask) -> None:
    app.register_blueprint(bp)
