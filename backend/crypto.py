"""Field-level encryption of sensitive personal data (DATA_KEY) and blind indexes for lookups.

DATA_KEY may list several keys separated by commas: the first encrypts, all decrypt, so a key can be
rotated by prepending a new one and running `flask rotate-data-key` (backend/key_rotation.py).

The blind index is a keyed hash with a key of its own, DATA_INDEX_KEY, that a rotation leaves alone:
an index made with the first DATA_KEY would change with every rotation, and a search would no longer
find the rows indexed before it. Without DATA_INDEX_KEY the index key is the (single) DATA_KEY, which
is what every index written before DATA_INDEX_KEY existed was made with.

The last four digits of a phone have an index of their own (`last4_index`), under a key derived for that
purpose alone: the full-number index and the last-four index cannot be told to belong together by
comparing them, and the last-four index answers "whose number ends in 5678" without the number.
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
_fallback_index_key: str | None = None


def configure(data_key: str, index_key: str | None = None) -> None:
    """Remember the keys for code that runs outside an app context (migrations, scripts)."""
    global _fallback_key, _fallback_index_key
    _fallback_key, _fallback_index_key = data_key, index_key


def _current_key() -> str:
    if has_app_context():
        return current_app.config["DATA_KEY"]
    if _fallback_key is None:
        raise RuntimeError("DATA_KEY is not configured")
    return _fallback_key


def index_key() -> str:
    """DATA_INDEX_KEY, or else DATA_KEY while it holds a single key (backend/config.py refuses to start
    with several keys and no DATA_INDEX_KEY)."""
    named = current_app.config.get("DATA_INDEX_KEY") if has_app_context() else _fallback_index_key
    if named:
        return named
    keys = [key for key in _current_key().split(",") if key.strip()]
    if len(keys) != 1:
        raise RuntimeError("DATA_KEY lists several keys: set DATA_INDEX_KEY for the blind index")
    return keys[0]


@lru_cache(maxsize=16)
def _derive(secret: str, purpose: bytes) -> bytes:
    return hashlib.sha256(purpose + b":" + secret.strip().encode()).digest()


@lru_cache(maxsize=8)
def _fernet(data_key: str) -> MultiFernet:
    keys = [k for k in data_key.split(",") if k.strip()]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(_derive(k, b"encrypt"))) for k in keys])


def encrypt(value: str) -> str:
    return _fernet(_current_key()).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    return decrypt_bytes(token.encode()).decode()


def reencrypt(token: str) -> str:
    """The same value, encrypted under the first DATA_KEY (whichever listed key it was under)."""
    return reencrypt_bytes(token.encode()).decode()


LAST4_PURPOSE = b"phone-last4"
LAST4_INDEX_LENGTH = 16  # 64 bits: no two of the 10,000 endings collide in practice


def blind_index(value: str) -> str:
    """A keyed hash for exact-match search on an encrypted column (same value → same index)."""
    return _blind_digest(_derive(index_key(), b"index"), value)


def last4_index(phone: str) -> str | None:
    """A keyed hash of a phone's last four digits, for the member list's search by them (None when the
    text holds fewer than four digits). Only 10,000 values exist, so without the key nothing can be
    learnt from it but which members share an ending."""
    return _last4_digest(_derive(index_key(), LAST4_PURPOSE), phone)


class PhoneIndexer:
    """Both indexes of a phone, the keys looked up once: the roster import computes thousands."""

    def __init__(self) -> None:
        key = index_key()
        self._full, self._last4 = _derive(key, b"index"), _derive(key, LAST4_PURPOSE)

    def __call__(self, phone: str) -> tuple[str, str | None]:
        return _blind_digest(self._full, phone), _last4_digest(self._last4, phone)


def _blind_digest(key: bytes, value: str) -> str:
    return hmac.digest(key, value.strip().lower().encode(), "sha256").hex()[:40]


def _last4_digest(key: bytes, phone: str) -> str | None:
    digits = (
        phone
        if phone.isascii() and phone.isdigit()
        else "".join(c for c in phone if c.isascii() and c.isdigit())
    )
    if len(digits) < 4:
        return None
    return hmac.digest(key, digits[-4:].encode(), "sha256").hex()[:LAST4_INDEX_LENGTH]


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


# Files (upload contents) use the same keys as the columns: bytes in, bytes out. The columns' string
# forms above go through these.
UNREADABLE = "encrypted data cannot be read with the configured DATA_KEY"


def encrypt_bytes(data: bytes) -> bytes:
    return _fernet(_current_key()).encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return _fernet(_current_key()).decrypt(token)
    except InvalidToken as exc:
        raise RuntimeError(UNREADABLE) from exc


def reencrypt_bytes(token: bytes) -> bytes:
    try:
        return _fernet(_current_key()).rotate(token)
    except InvalidToken as exc:
        raise RuntimeError(UNREADABLE) from exc
