"""Extension objects, unbound; `create_app` binds them. `db` is made in backend/db.py and re-exported here."""

from __future__ import annotations

import marshmallow as ma
from celery import Celery
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_wtf import CSRFProtect

from backend.db import db, render_item

__all__ = ["api", "celery", "csrf", "db", "limiter", "login_manager", "migrate"]


class ErrorSchema(ma.Schema):
    """API.md's error payload (documentation only; backend/http_errors.py writes it)."""

    code = ma.fields.Integer(metadata={"description": "HTTP status"})
    status = ma.fields.String(metadata={"description": "HTTP status phrase"})
    error = ma.fields.String(metadata={"description": "stable machine code, snake_case"})
    message = ma.fields.String(metadata={"description": "中文提示，可直接展示给职工"})
    errors = ma.fields.Dict(metadata={"description": "field → messages, for validation errors"})


class UnionApi(Api):
    ERROR_SCHEMA = ErrorSchema


migrate = Migrate(compare_type=True, render_as_batch=True, render_item=render_item)
api = UnionApi()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
celery = Celery("union")
