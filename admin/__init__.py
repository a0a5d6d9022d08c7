"""The staff admin: server-rendered HTML under /admin (one Blueprint, views per domain)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, redirect, send_from_directory, url_for
from flask_wtf.csrf import CSRFError

from admin import views  # noqa: F401  (attaches the routes to the Blueprint)
from admin.blueprint import bp, layout_user, security_headers
from backend.db import to_local
from backend.money import yuan
from backend.staff.permissions import Permission
from backend.uploads.storage import human_size


def local_time(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as the union reads it (Asia/Shanghai); dates as they are."""
    if value is None:
        return ""
    if hasattr(value, "tzinfo"):
        value = to_local(value)
    return value.strftime(fmt if hasattr(value, "hour") else "%Y-%m-%d")


def site_root() -> Any:
    """``/``: whoever opens the bare address is looking for the admin (the API lives under /api/v1)."""
    return redirect(url_for("admin.dashboard"))


def favicon() -> Response:
    """``/favicon.ico``: browsers ask for it at the root whatever the page says (pages link the SVG)."""
    response = send_from_directory(bp.static_folder or "", "admin/favicon.ico", mimetype="image/x-icon")
    response.cache_control.max_age = 7 * 24 * 3600
    response.cache_control.public = True
    return response


def register_admin(app: Flask) -> None:
    app.register_blueprint(bp)
    app.after_request(security_headers)
    app.add_url_rule("/", "site_root", site_root)
    app.add_url_rule("/favicon.ico", "favicon", favicon)
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(yuan, "yuan")  # fen → "1,500.00"
    app.add_template_filter(human_size, "file_size")  # "77 KB"-style sizes; jinja's says "77 Bytes"
    # Error pages render for any path (backend/http_errors.py), signed in or not.
    app.add_template_global(layout_user, "layout_user")
    app.add_template_global(Permission, "Permission")  # pages ask `staff.can(Permission.…)`


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError) -> Any:
    from backend.http_errors import html_error

    return html_error(400, "页面已过期或来源不明，请刷新页面后重新提交")


@bp.errorhandler(429)
def too_many_requests(error: Exception) -> Any:
    from flask import request

    from admin.views.auth import LOGIN_THROTTLED
    from backend.http_errors import html_error

    if request.endpoint == "admin.login":
        return html_error(429, LOGIN_THROTTLED)
    return html_error(429, "操作太频繁，请稍后再试")
