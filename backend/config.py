"""Settings from environment variables (DESIGN.md, "Configuration contract").

Development and testing get working defaults so that `make run` needs nothing; production refuses
to start without its secrets rather than run with a guessable key.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from backend.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

PRODUCTION_SECRETS = ("SECRET_KEY", "DATA_KEY", "WECHAT_SECRET")

# Template ids and field layouts the emulator and the demo use. Production sets WECHAT_TEMPLATES to
# the ids chosen in the mini-program's management console.
DEMO_TEMPLATES: dict[str, dict[str, Any]] = {
    "announcement": {
        "template_id": "tmpl_demo_announcement",
        "page": "pages/announcements/detail",
        "fields": {"thing1": "title", "phrase2": "category", "time3": "published_at", "thing4": "note"},
    },
    "activity": {
        "template_id": "tmpl_demo_activity",
        "page": "pages/activities/detail",
        "fields": {"thing1": "title", "time2": "starts_at", "thing3": "location", "thing4": "note"},
    },
    "application": {
        "template_id": "tmpl_demo_application",
        "page": "pages/hardship/detail",
        "fields": {"thing1": "title", "phrase2": "status", "time3": "updated_at", "thing4": "note"},
    },
    "care": {
        "template_id": "tmpl_demo_care",
        "page": "pages/care/detail",
        "fields": {"thing1": "title", "phrase2": "status", "time3": "updated_at", "thing4": "note"},
    },
}


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def load_settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from the environment, then apply explicit overrides."""
    overrides = dict(overrides or {})
    env = overrides.get("APP_ENV") or _env("APP_ENV", "development")
    if env not in ("development", "production", "testing"):
        raise ConfigurationError(f"APP_ENV must be development, production or testing, not {env!r}")
    production = env == "production"

    settings: dict[str, Any] = {
        "APP_ENV": env,
        "TESTING": env == "testing",
        "SECRET_KEY": _env("SECRET_KEY"),
        "DATA_KEY": _env("DATA_KEY"),
        "DATA_INDEX_KEY": _env("DATA_INDEX_KEY"),
        "SQLALCHEMY_DATABASE_URI": _env("DATABASE_URL", _sqlite_url(INSTANCE_DIR / "union.db")),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": _env("REDIS_URL"),
        "WECHAT_APPID": _env("WECHAT_APPID", None if production else "wx_demo_appid"),
        "WECHAT_SECRET": _env("WECHAT_SECRET", None if production else "demo_secret"),
        "WECHAT_API_BASE": _env(
            "WECHAT_API_BASE", "https://api.weixin.qq.com/" if production else "http://127.0.0.1:5001/"
        ),
        "WECHAT_TIMEOUT": float(_env("WECHAT_TIMEOUT", "3.0") or 3.0),
        "WECHAT_TOKEN": _env("WECHAT_TOKEN"),
        "WECHAT_AES_KEY": _env("WECHAT_AES_KEY"),
        "WECHAT_MINIPROGRAM_STATE": _env("WECHAT_MINIPROGRAM_STATE", "formal" if production else "developer"),
        "WECHAT_TEMPLATES": _parse_templates(_env("WECHAT_TEMPLATES"), production),
        "WECHAT_LANG": _env("WECHAT_LANG", "zh_CN"),
        # Notification delivery (backend/notifications/delivery.py).
        # Subscribe sends per second across all workers (a Redis token bucket with REDIS_URL); 0: no limit.
        "WECHAT_SEND_RATE": float(_env("WECHAT_SEND_RATE", "50") or 0),
        "WECHAT_SEND_LEASE": float(_env("WECHAT_SEND_LEASE", "60") or 60),
        "WECHAT_SEND_MAX_ATTEMPTS": int(_env("WECHAT_SEND_MAX_ATTEMPTS", "6") or 6),
        "WECHAT_SEND_BACKOFF": float(_env("WECHAT_SEND_BACKOFF", "30") or 30),
        "WECHAT_SEND_BACKOFF_MAX": float(_env("WECHAT_SEND_BACKOFF_MAX", "3600") or 3600),
        "NOTIFICATIONS_BATCH": int(_env("NOTIFICATIONS_BATCH", "50") or 50),
        "NOTIFICATIONS_SEND_CHUNK": int(_env("NOTIFICATIONS_SEND_CHUNK", "20") or 20),
        "NOTIFICATIONS_DRAIN_TASKS": int(_env("NOTIFICATIONS_DRAIN_TASKS", "4") or 4),
        "NOTIFICATIONS_SWEEP_SECONDS": float(_env("NOTIFICATIONS_SWEEP_SECONDS", "30") or 30),
        # Seconds between the mini-program's report of a subscribe tap and WeChat's push of the same tap
        # within which the two count as one credit (backend/notifications/subscriptions.py).
        "SUBSCRIBE_PAIRING_WINDOW": float(_env("SUBSCRIBE_PAIRING_WINDOW", "600") or 600),
        "CELERY_QUEUE": _env("CELERY_QUEUE", "celery"),
        "UPLOAD_DIR": _env("UPLOAD_DIR", str(INSTANCE_DIR / "uploads")),
        "UPLOAD_MAX_BYTES": int(_env("UPLOAD_MAX_BYTES", str(10 * 1024 * 1024)) or 0),
        "UPLOAD_MEMBER_PENDING_BYTES": int(_env("UPLOAD_MEMBER_PENDING_BYTES", str(100 * 1024 * 1024)) or 0),
        "MAX_CONTENT_LENGTH": int(_env("MAX_CONTENT_LENGTH", str(12 * 1024 * 1024)) or 0),
        "TRUSTED_PROXIES": int(_env("TRUSTED_PROXIES", "0") or 0),
        "API_TOKEN_TTL_HOURS": int(_env("API_TOKEN_TTL_HOURS", "168") or 168),
        # Mini-program login and binding (miniprogram_api/session.py, backend/members/binding.py).
        # Logins per minute from one address: a plant's 1,000 workers may share one (NAT, factory Wi-Fi).
        "LOGIN_RATE_LIMIT": _env("LOGIN_RATE_LIMIT", "3000 per minute"),
        # Binding attempts per WeChat account.
        "BINDING_RATE_LIMIT": _env("BINDING_RATE_LIMIT", "10 per hour"),
        # Failed bindings (wrong name or phone) against one employee number a day; past that only the
        # matching WeChat-verified phone binds it.
        "BINDING_FAILURE_LIMIT": int(_env("BINDING_FAILURE_LIMIT", "5") or 5),
        # Care due list: birthdays/retirements in the next CARE_DUE_DAYS days; hospitalised members whose
        # request nobody scheduled within CARE_FOLLOW_UP_DAYS days.
        "CARE_DUE_DAYS": int(_env("CARE_DUE_DAYS", "7") or 7),
        "CARE_FOLLOW_UP_DAYS": int(_env("CARE_FOLLOW_UP_DAYS", "3") or 3),
        # Hardship aid (backend/hardship/consent.py, retention.py): the consent text applicants agree to
        # and its version (empty text: the built-in one); how long decided applications are kept.
        "HARDSHIP_CONSENT_VERSION": _env("HARDSHIP_CONSENT_VERSION", "2026-1"),
        "HARDSHIP_CONSENT_TEXT": _env("HARDSHIP_CONSENT_TEXT"),
        "HARDSHIP_RETENTION_YEARS": int(_env("HARDSHIP_RETENTION_YEARS", "30") or 30),
        # A WeChat-verified phone for every binding, also to roster rows without a phone and join requests.
        "BINDING_REQUIRE_PHONE": (_env("BINDING_REQUIRE_PHONE") or "").lower() in ("1", "true", "yes"),
        "ADMIN_LOGIN_RATE_LIMIT": _env("ADMIN_LOGIN_RATE_LIMIT", "5 per minute"),
        # An admin session ends after this long without a request, and this long after the login.
        "ADMIN_SESSION_IDLE_MINUTES": float(_env("ADMIN_SESSION_IDLE_MINUTES", "30") or 30),
        "ADMIN_SESSION_MAX_HOURS": float(_env("ADMIN_SESSION_MAX_HOURS", "12") or 12),
        "UPLOAD_RATE_LIMIT": _env("UPLOAD_RATE_LIMIT", "60 per hour"),
        # Activities: the reminder before the start, the check-in window, the poster's mini-program page.
        "ACTIVITY_REMINDER_HOURS": float(_env("ACTIVITY_REMINDER_HOURS", "24") or 24),
        "ACTIVITY_CHECKIN_OPENS_MINUTES": float(_env("ACTIVITY_CHECKIN_OPENS_MINUTES", "60") or 60),
        "ACTIVITY_CHECKIN_PAGE": _env("ACTIVITY_CHECKIN_PAGE", "pages/activities/checkin"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down, or a limiter key holding junk, is not a 500: Flask-Limiter then counts each route's
        # limits in this process's memory, logs a warning ("falling back to in-memory storage") and
        # tries Redis again with a growing back-off. Swallowing covers the one call the fallback does
        # not: a failed attempt counted after the view (deduct_when) on a storage that failed since.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # flask-smorest / OpenAPI
        "API_TITLE": "工会会员服务小程序接口",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "v1/openapi.json",
        # The interactive docs page (/api/docs) is for developers: off in production unless asked for.
        "API_DOCS_ENABLED": _flag(_env("API_DOCS_ENABLED"), default=not production),
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/static/swagger-ui/",
        # Flask-WTF and cookies
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    }
    settings.update(overrides)
    settings["RATELIMIT_STORAGE_URI"] = settings.get("RATELIMIT_STORAGE_URI") or (
        settings["REDIS_URL"] or "memory://"
    )
    if not settings["API_DOCS_ENABLED"]:
        settings["OPENAPI_SWAGGER_UI_PATH"] = None
    if settings["RATELIMIT_STORAGE_URI"].startswith("redis"):
        # A Redis that hangs rather than refuses must not hold every rate-limited request.
        settings.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
        )

    if production:
        missing = [name for name in PRODUCTION_SECRETS if not settings.get(name)]
        if missing:
            raise ConfigurationError("Refusing to start in production without: " + ", ".join(missing))
    # Outside production a missing secret is generated per start: sessions and tokens then
    # do not survive a restart, which is the honest behaviour of a demo.
    if not settings["SECRET_KEY"]:
        settings["SECRET_KEY"] = secrets.token_urlsafe(32)
    if not settings["DATA_KEY"]:
        settings["DATA_KEY"] = _dev_data_key(settings)
    _check_index_key(settings)
    return settings


def _flag(raw: str | None, *, default: bool) -> bool:
    if raw is None:
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _check_index_key(settings: dict[str, Any]) -> None:
    """The blind index needs one key that never rotates (backend/crypto.py: index_key).

    Until DATA_INDEX_KEY is set that key is the DATA_KEY itself, which is what every existing index
    was made with. A list of keys in DATA_KEY means a rotation has begun: the first key is new, so the
    index key must be named, or a phone search would quietly stop finding anyone.
    """
    data_keys = [key for key in settings["DATA_KEY"].split(",") if key.strip()]
    if not data_keys:
        raise ConfigurationError("DATA_KEY holds no key")
    if len(data_keys) > 1 and not settings.get("DATA_INDEX_KEY"):
        raise ConfigurationError(
            "DATA_KEY lists several keys, so DATA_INDEX_KEY must be set: give it the key the phone "
            "index was made with (the DATA_KEY from before the rotation, usually the last one listed), "
            "then run `flask rotate-data-key`"
        )


def _dev_data_key(settings: dict[str, Any]) -> str:
    """In development the key is kept in a file, so that data written once can be read after a restart.

    The demo SQLite database keeps its key beside it (`instance/union.datakey`); any other database
    (a local PostgreSQL) uses `instance/development.datakey`: a random key per start would make every
    second run fail to decrypt what the first one wrote. Testing and in-memory databases keep a
    per-start key: their data is thrown away.
    """
    if settings["APP_ENV"] != "development":
        return secrets.token_urlsafe(32)
    uri = settings["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        return _read_or_create_key(Path(uri.removeprefix("sqlite:///")).with_suffix(".datakey"))
    if uri.startswith("sqlite"):
        return secrets.token_urlsafe(32)  # an in-memory database ends with the process anyway
    return _read_or_create_key(INSTANCE_DIR / "development.datakey")


def _read_or_create_key(key_file: Path) -> str:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of two processes starting at once (web and worker) one writes, the other reads.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            key = key_file.read_text().strip()
            if key:
                return key
            time.sleep(0.02)  # the other process has created the file but not written it yet
        raise ConfigurationError(f"{key_file} is empty: delete it or set DATA_KEY") from None
    key = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _parse_templates(raw: str | None, production: bool) -> dict[str, dict[str, Any]]:
    if not raw:
        return {} if production else json.loads(json.dumps(DEMO_TEMPLATES))
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise ConfigurationError(f"WECHAT_TEMPLATES is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("template_id"), str) and isinstance(v.get("fields"), dict)
        for v in parsed.values()
    ):
        raise ConfigurationError(
            'WECHAT_TEMPLATES must map a kind to {"template_id": "...", "fields": {"thing1": "title", ...}}'
        )
    return parsed
