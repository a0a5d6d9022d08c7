"""Field-level encryption of sensitive personal data (DATA_KEY) and blind indexes for lookups.

DATA_KEY may list several keys separated by commas: the first encrypts, all decrypt, so a key can be
rotated by prepending a new one and re-saving rows at leisure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app, has_app_context
from sqlalchemy.types import TypeDecorator

_fallback_key: str | None = None


def configure(data_key: str) -> None:
    """Remember the key for code that runs outside an app context (migrations, scripts)."""
    global _fallback_key
    _fallback_key = data_key


def _current_key() -> str:
    if has_app_context():
        return current_app.config["DATA_KEY"]
    if _fallback_key is None:
        raise RuntimeError("DATA_KEY is not configured")
    return _fallback_key


def _derive(secret: str, purpose: bytes) -> bytes:
    return hashlib.sha256(purpose + b":" + secret.strip().encode()).digest()


@lru_cache(maxsize=8)
def _fernet(data_key: str) -> MultiFernet:
    keys = [k for k in data_key.split(",") if k.strip()]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(_derive(k, b"encrypt"))) for k in keys])


def encrypt(value: str) -> str:
    return _fernet(_current_key()).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(_current_key()).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise RuntimeError("encrypted field cannot be read with the configured DATA_KEY") from exc


def blind_index(value: str) -> str:
    """A keyed hash for exact-match search on an encrypted column (same value → same index)."""
    first_key = _current_key().split(",")[0]
    digest = hmac.new(_derive(first_key, b"index"), value.strip().lower().encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


class EncryptedString(TypeDecorator[str]):
    """A string column stored encrypted; the database never sees the plain text."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        return encrypt(value) if value is not None else None

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> str | None:
        return decrypt(value) if value is not None else None


def mask_phone(phone: str | None) -> str | None:
    """138****5678: enough to recognise one's own number, not enough to misuse someone else's."""
    if not phone:
        return None
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"
