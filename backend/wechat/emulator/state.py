"""What the WeChat emulator remembers: users, codes, tokens, templates, credits, sends, faults."""

from __future__ import annotations

import random
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from backend.wechat.emulator.rules import FIELD_TYPES, type_of_key

DEFAULT_RISKY_WORDS = ("赌博", "违禁", "毒品")
DEFAULT_REVIEW_WORDS = ("投诉",)
TOKEN_TTL = 7200
CODE_TTL = 300
FORCE_REFRESH_DAILY_LIMIT = 20


class ApiError(Exception):
    """An errcode answer, as WeChat gives it: HTTP 200 with errcode and errmsg."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


class DropConnection(ConnectionAbortedError):
    """Raised after shutting the socket, so werkzeug treats the request as a dropped connection."""


@dataclass
class User:
    openid: str
    unionid: str | None = None
    phone: str | None = None
    risky: bool = False


@dataclass
class Code:
    openid: str
    issued_at: float
    used: bool = False
    phone: str | None = None


@dataclass
class Fault:
    path: str
    errcode: int | None = None
    errmsg: str | None = None
    status: int | None = None
    delay: float = 0.0
    drop: bool = False
    times: int | None = None
    rate: float | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])


@dataclass
class EmulatorState:
    """Everything the emulator remembers. Mutate only while holding ``lock``."""

    appid: str
    secret: str
    code_ttl: float = CODE_TTL
    token_ttl: float = TOKEN_TTL
    risky_words: tuple[str, ...] = DEFAULT_RISKY_WORDS
    review_words: tuple[str, ...] = DEFAULT_REVIEW_WORDS
    seed: int = 0
    initial_templates: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget users, codes, tokens, credits, sends, faults and stats; keep configuration."""
        with self.lock:
            self.clock_offset = 0.0
            self.users: dict[str, User] = {}
            self.login_codes: dict[str, Code] = {}
            self.phone_codes: dict[str, Code] = {}
            self.templates: dict[str, dict[str, str]] = dict(self.initial_templates)
            self.credits: Counter[tuple[str, str]] = Counter()
            self.tokens: dict[str, float] = {}
            self.stable_token: str | None = None
            self.token_issuances = 0
            self.force_refreshes = 0
            self.calls: Counter[str] = Counter()
            self.sends: list[dict[str, Any]] = []
            self.faults: list[Fault] = []
            self.random = random.Random(self.seed)

    def now(self) -> float:
        return time.time() + self.clock_offset

    def user(self, openid: str) -> User:
        if openid not in self.users:
            self.users[openid] = User(openid=openid)
        return self.users[openid]

    def issue_token(self) -> str:
        token = "emu_" + secrets.token_urlsafe(24)
        self.tokens[token] = self.now() + self.token_ttl
        self.token_issuances += 1
        return token

    def check_token(self, token: str | None) -> None:
        if not token:
            raise ApiError(41001, "access_token missing")
        expires = self.tokens.get(token)
        if expires is None:
            raise ApiError(40001, "invalid credential, access_token is invalid or not latest")
        if expires <= self.now():
            raise ApiError(42001, "access_token expired")

    def pick_fault(self, path: str) -> Fault | None:
        for fault in list(self.faults):
            if fault.path not in (path, "*"):
                continue
            if fault.rate is not None and self.random.random() >= fault.rate:
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
            return fault
        return None


def current_state() -> EmulatorState:
    """The state of the emulator app handling this request."""
    return current_app.extensions["wechat_emulator"]


def normalise_fields(fields: Mapping[str, str] | Sequence[str]) -> dict[str, str]:
    """Template fields as key → type; a list of keys, or values that are not types, use the key's prefix.

    So the app's own template settings (``{"thing1": "title", ...}``) can be handed over as they are.
    """
    keys = fields.items() if isinstance(fields, Mapping) else ((key, "") for key in fields)
    return {key: kind if kind in FIELD_TYPES else type_of_key(key) for key, kind in keys}


def normalise_templates(templates: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """Templates as template_id → fields, from either shape the project has.

    ``{"tmpl_x": {"thing1": "thing"}}`` (template_id → fields), or the app's ``WECHAT_TEMPLATES``
    (``{"activity": {"template_id": "tmpl_x", "fields": {"thing1": "title"}, "page": ...}}``).
    """
    result: dict[str, dict[str, str]] = {}
    for name, spec in (templates or {}).items():
        if isinstance(spec, Mapping) and "template_id" in spec:
            result[str(spec["template_id"])] = normalise_fields(spec.get("fields") or {})
        else:
            result[name] = normalise_fields(spec)
    return result
