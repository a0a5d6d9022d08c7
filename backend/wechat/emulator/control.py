"""The emulator's control API under ``/_emulator/`` (no such thing exists at WeChat), and a client for it.

Tests and demos use it to create users, mint login and phone codes, register templates, grant
subscribe credits as if the member tapped "allow", age codes and tokens, inject faults and read stats.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import asdict
from typing import Any

import requests
from flask import Blueprint, Response, jsonify, request

from backend.wechat.emulator.state import Code, Fault, current_state, normalise_fields

control = Blueprint("wechat_emulator_control", __name__, url_prefix="/_emulator")


def _require(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise _ControlError(f"{name} is required")
    return value


class _ControlError(Exception):
    pass


@control.errorhandler(_ControlError)
def _control_error(exc: _ControlError) -> tuple[Response, int]:
    return jsonify({"error": str(exc)}), 400


def _control_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise _ControlError("JSON object body required")
    return data


@control.post("/users")
def create_user() -> Response:
    data = _control_body()
    state = current_state()
    with state.lock:
        user = state.user(_require(data, "openid"))
        for name in ("unionid", "phone"):
            if name in data:
                setattr(user, name, data[name])
        if "risky" in data:
            user.risky = bool(data["risky"])
        return jsonify(asdict(user))


@control.get("/users/<openid>")
def read_user(openid: str) -> tuple[Response, int]:
    state = current_state()
    with state.lock:
        user = state.users.get(openid)
        return (jsonify(asdict(user)), 200) if user else (jsonify({"error": "no such user"}), 404)


@control.post("/login-code")
def mint_login_code() -> Response:
    data = _control_body()
    state = current_state()
    with state.lock:
        user = state.user(_require(data, "openid"))
        if data.get("unionid"):
            user.unionid = data["unionid"]
        code = "emu_login_" + secrets.token_hex(12)
        state.login_codes[code] = Code(openid=user.openid, issued_at=state.now())
        return jsonify({"code": code})


@control.post("/phone-code")
def mint_phone_code() -> Response:
    data = _control_body()
    state = current_state()
    with state.lock:
        user = state.user(_require(data, "openid"))
        phone = data.get("phone") or user.phone
        if not phone:
            raise _ControlError("phone is required (the user has none)")
        user.phone = str(phone)
        code = "emu_phone_" + secrets.token_hex(12)
        state.phone_codes[code] = Code(openid=user.openid, issued_at=state.now(), phone=user.phone)
        return jsonify({"code": code})


@control.post("/templates")
def register_template() -> Response:
    data = _control_body()
    state = current_state()
    try:
        fields = normalise_fields(data.get("fields") or {})
    except ValueError as exc:
        raise _ControlError(str(exc)) from None
    with state.lock:
        state.templates[_require(data, "template_id")] = fields
        return jsonify({"template_id": data["template_id"], "fields": fields})


@control.get("/templates")
def list_templates() -> Response:
    state = current_state()
    with state.lock:
        return jsonify(state.templates)


@control.post("/subscriptions")
def grant_credits() -> Response:
    data = _control_body()
    state = current_state()
    openid, template_id = _require(data, "openid"), _require(data, "template_id")
    count = data.get("count", 1)
    if not isinstance(count, int):
        raise _ControlError("count must be an integer")
    with state.lock:
        if template_id not in state.templates:
            raise _ControlError(f"unknown template {template_id}")
        state.user(openid)
        key = (openid, template_id)
        state.credits[key] = max(0, state.credits[key] + count)
        return jsonify({"openid": openid, "template_id": template_id, "credits": state.credits[key]})


@control.get("/subscriptions")
def read_credits() -> Response:
    state = current_state()
    openid, template_id = request.args.get("openid"), request.args.get("template_id")
    with state.lock:
        rows = [
            {"openid": o, "template_id": t, "credits": n}
            for (o, t), n in state.credits.items()
            if (openid is None or o == openid) and (template_id is None or t == template_id)
        ]
    if openid and template_id:
        return jsonify(
            {"openid": openid, "template_id": template_id, "credits": sum(r["credits"] for r in rows)}
        )
    return jsonify(rows)


@control.post("/token/expire")
def expire_tokens() -> Response:
    """Every token issued so far is expired: the next call with one gets 42001."""
    state = current_state()
    with state.lock:
        for token in state.tokens:
            state.tokens[token] = state.now() - 1
        return jsonify({"expired": len(state.tokens)})


@control.post("/token/invalidate")
def invalidate_tokens() -> Response:
    """Every token issued so far is forgotten: the next call with one gets 40001."""
    state = current_state()
    with state.lock:
        count = len(state.tokens)
        state.tokens.clear()
        state.stable_token = None
        return jsonify({"invalidated": count})


@control.post("/clock")
def advance_clock() -> Response:
    """Move the emulator's clock forward (codes and tokens age) by ``advance`` seconds."""
    data = _control_body()
    advance = data.get("advance")
    if not isinstance(advance, int | float) or advance < 0:
        raise _ControlError("advance must be a non-negative number of seconds")
    state = current_state()
    with state.lock:
        state.clock_offset += float(advance)
        return jsonify({"clock_offset": state.clock_offset})


@control.post("/faults")
def add_fault() -> Response:
    data = _control_body()
    allowed = {"path", "errcode", "errmsg", "status", "delay", "drop", "times", "rate"}
    if unknown := set(data) - allowed:
        raise _ControlError(f"unknown fault options: {sorted(unknown)}")
    try:
        fault = Fault(**data)
    except TypeError as exc:
        raise _ControlError(str(exc)) from None
    fault.path = _require(data, "path").lstrip("/")
    state = current_state()
    with state.lock:
        state.faults.append(fault)
    return jsonify(asdict(fault))


@control.get("/faults")
def list_faults() -> Response:
    state = current_state()
    with state.lock:
        return jsonify([asdict(fault) for fault in state.faults])


@control.delete("/faults")
def clear_faults() -> Response:
    state = current_state()
    with state.lock:
        state.faults.clear()
    return jsonify({"faults": 0})


@control.get("/stats")
def stats() -> Response:
    """Token issuances, calls per path, and accepted sends (``?sends=0`` leaves out the list)."""
    state = current_state()
    with state.lock:
        counts = Counter((send["openid"], send["template_id"]) for send in state.sends)
        answer: dict[str, Any] = {
            "token_issuances": state.token_issuances,
            "force_refreshes": state.force_refreshes,
            "calls": dict(state.calls),
            "send_count": len(state.sends),
            "send_counts": [{"openid": o, "template_id": t, "count": n} for (o, t), n in counts.items()],
        }
        if request.args.get("sends", "1") != "0":
            answer["sends"] = list(state.sends)
    return jsonify(answer)


@control.post("/reset")
def reset() -> Response:
    current_state().reset()
    return jsonify({"reset": True})


class EmulatorControl:
    """A client for the control API, for tests, demos and benchmarks in any process.

    ``EmulatorControl("http://127.0.0.1:5001/").login_code("o_alice")`` gives a fresh wx.login() code.
    """

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/") + "/_emulator/"
        self.timeout = timeout
        self._http = requests.Session()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        """Close the HTTP session."""
        self._http.close()

    def reset(self) -> None:
        """Forget everything but the configured templates."""
        self._call("POST", "reset")

    def create_user(self, openid: str, **fields: Any) -> dict[str, Any]:
        """Create or update a test user (unionid, phone, risky)."""
        return self._call("POST", "users", json={"openid": openid, **fields})

    def login_code(self, openid: str, unionid: str | None = None) -> str:
        """A single-use wx.login() code for openid (the user is created if needed)."""
        body: dict[str, Any] = {"openid": openid}
        if unionid:
            body["unionid"] = unionid
        return str(self._call("POST", "login-code", json=body)["code"])

    def phone_code(self, openid: str, phone: str | None = None) -> str:
        """A single-use getPhoneNumber code that reveals phone (or the user's phone)."""
        body: dict[str, Any] = {"openid": openid}
        if phone:
            body["phone"] = phone
        return str(self._call("POST", "phone-code", json=body)["code"])

    def add_template(self, template_id: str, fields: dict[str, str] | list[str]) -> None:
        """Register a subscribe template: fields as key → type, or keys whose prefix is the type."""
        self._call("POST", "templates", json={"template_id": template_id, "fields": fields})

    def grant(self, openid: str, template_id: str, count: int = 1) -> int:
        """Add subscribe credits as if the member tapped "allow" count times; the new balance."""
        body = {"openid": openid, "template_id": template_id, "count": count}
        return int(self._call("POST", "subscriptions", json=body)["credits"])

    def credits(self, openid: str, template_id: str) -> int:
        """The member's remaining credits for a template."""
        params = {"openid": openid, "template_id": template_id}
        return int(self._call("GET", "subscriptions", params=params)["credits"])

    def expire_tokens(self) -> None:
        """Make every issued access token expired (42001 on next use)."""
        self._call("POST", "token/expire")

    def invalidate_tokens(self) -> None:
        """Forget every issued access token (40001 on next use)."""
        self._call("POST", "token/invalidate")

    def advance_clock(self, seconds: float) -> None:
        """Age codes and tokens by seconds."""
        self._call("POST", "clock", json={"advance": seconds})

    def add_fault(self, path: str, **options: Any) -> dict[str, Any]:
        """Make calls to path fail: errcode, errmsg, status, delay, drop, times, rate."""
        return self._call("POST", "faults", json={"path": path, **options})

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._call("DELETE", "faults")

    def stats(self, sends: bool = True) -> dict[str, Any]:
        """Token issuances, calls per path, send counts (and the sends themselves)."""
        return self._call("GET", "stats", params={} if sends else {"sends": "0"})
