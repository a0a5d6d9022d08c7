"""The endpoints WeChat has, as the emulator answers them: tokens, login and phone codes, subscribe
messages, content security, mini-program codes. Every call is counted and may meet an injected fault
first (``count_and_fail``); errcode answers are ``ApiError`` (HTTP 200, as WeChat gives them).
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import socket
import time
import uuid
from typing import Any

from flask import Blueprint, Response, jsonify, request

from backend.wechat.emulator.rules import draw_wxa_code, page_is_valid, scene_is_valid, value_is_valid
from backend.wechat.emulator.state import (
    FORCE_REFRESH_DAILY_LIMIT,
    ApiError,
    DropConnection,
    EmulatorState,
    current_state,
)


def _rid() -> str:
    return f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"


def _body() -> dict[str, Any]:
    try:
        data = json.loads(request.get_data() or b"null")
    except ValueError:
        raise ApiError(47001, "data format error") from None
    if data is None:
        raise ApiError(44002, "empty post data")
    if not isinstance(data, dict):
        raise ApiError(47001, "data format error")
    return data


def _ok(**extra: Any) -> Response:
    return jsonify({"errcode": 0, "errmsg": "ok", **extra})


api = Blueprint("wechat_api", __name__)


def count_and_fail() -> Response | None:
    """Count every WeChat-side call and apply the first matching fault, before any endpoint runs."""
    if request.path == "/" or request.path.startswith("/_emulator/"):
        return None  # the root page and the control API are not WeChat: never counted, never faulted
    state = current_state()
    path = request.path.lstrip("/")
    with state.lock:
        state.calls[path] += 1
        fault = state.pick_fault(path)
    if fault is None:
        return None
    if fault.delay:
        time.sleep(fault.delay)
    if fault.drop:
        sock = request.environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # the client may have gone already
                sock.shutdown(socket.SHUT_RDWR)
        raise DropConnection("emulated dropped connection")
    if fault.errcode is not None:
        raise ApiError(fault.errcode, fault.errmsg or _FAULT_MESSAGES.get(fault.errcode, "emulated error"))
    if fault.status is not None:
        return Response("emulated failure", status=fault.status, mimetype="text/plain")
    return None


_FAULT_MESSAGES = {
    -1: "system error",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit mustslower retry next minute",
    40001: "invalid credential, access_token is invalid or not latest",
    42001: "access_token expired",
}


def _check_app_credentials(state: EmulatorState, appid: object, secret: object) -> None:
    if appid != state.appid:
        raise ApiError(40013, "invalid appid")
    if secret != state.secret:
        raise ApiError(40125, "invalid appsecret")


@api.get("/cgi-bin/token")
def token() -> Response:
    state = current_state()
    args = request.args
    if args.get("grant_type") != "client_credential":
        raise ApiError(40002, "invalid grant_type")
    with state.lock:
        _check_app_credentials(state, args.get("appid"), args.get("secret"))
        return jsonify({"access_token": state.issue_token(), "expires_in": int(state.token_ttl)})


@api.post("/cgi-bin/stable_token")
def stable_token() -> Response:
    state = current_state()
    body = _body()
    if body.get("grant_type") != "client_credential":
        raise ApiError(40002, "invalid grant_type")
    with state.lock:
        _check_app_credentials(state, body.get("appid"), body.get("secret"))
        current = state.stable_token
        alive = current is not None and state.tokens.get(current, 0) > state.now()
        if body.get("force_refresh") is True:
            if state.force_refreshes >= FORCE_REFRESH_DAILY_LIMIT:
                raise ApiError(45009, "reach max api daily quota limit")
            state.force_refreshes += 1
            if current is not None:
                state.tokens.pop(current, None)  # a forced refresh kills the previous token
            alive = False
        if not alive:
            state.stable_token = current = state.issue_token()
        assert current is not None
        expires_in = int(state.tokens[current] - state.now())
        return jsonify({"access_token": current, "expires_in": expires_in})


@api.get("/sns/jscode2session")
def jscode2session() -> Response:
    state = current_state()
    args = request.args
    if args.get("grant_type") != "authorization_code":
        raise ApiError(40002, "invalid grant_type")
    code = args.get("js_code")
    with state.lock:
        _check_app_credentials(state, args.get("appid"), args.get("secret"))
        if not code:
            raise ApiError(41008, "missing code")
        issued = state.login_codes.get(code)
        if issued is None or issued.issued_at + state.code_ttl <= state.now():
            raise ApiError(40029, "invalid code")
        if issued.used:
            raise ApiError(40163, "code been used")
        issued.used = True
        user = state.user(issued.openid)
        if user.risky:
            raise ApiError(40226, "high risk user")
        answer = {"openid": user.openid, "session_key": base64.b64encode(secrets.token_bytes(16)).decode()}
        if user.unionid:
            answer["unionid"] = user.unionid
        return jsonify(answer)


@api.post("/wxa/business/getuserphonenumber")
def getuserphonenumber() -> Response:
    state = current_state()
    with state.lock:
        state.check_token(request.args.get("access_token"))
    code = _body().get("code")
    with state.lock:
        issued = state.phone_codes.get(code) if isinstance(code, str) else None
        if issued is None or issued.used or issued.issued_at + state.code_ttl <= state.now():
            raise ApiError(40029, "invalid code")
        issued.used = True
        phone = issued.phone or ""
        watermark = {"timestamp": int(state.now()), "appid": state.appid}
    return _ok(
        phone_info={
            "phoneNumber": phone,
            "purePhoneNumber": phone,
            "countryCode": "86",
            "watermark": watermark,
        }
    )


@api.post("/cgi-bin/message/subscribe/send")
def subscribe_send() -> Response:
    state = current_state()
    with state.lock:
        state.check_token(request.args.get("access_token"))
    body = _body()
    openid, template_id, data = body.get("touser"), body.get("template_id"), body.get("data")
    with state.lock:
        if not isinstance(openid, str) or openid not in state.users:
            raise ApiError(40003, "invalid openid")
        fields = state.templates.get(template_id) if isinstance(template_id, str) else None
        if fields is None:
            raise ApiError(40037, "invalid template_id")
        if body.get("miniprogram_state", "formal") not in ("developer", "trial", "formal"):
            raise ApiError(47003, "argument invalid! miniprogram_state invalid")
        if body.get("lang", "zh_CN") not in ("zh_CN", "en_US", "zh_HK", "zh_TW"):
            raise ApiError(47003, "argument invalid! lang invalid")
        if not page_is_valid(body.get("page")) and not _page_with_query(body.get("page")):
            raise ApiError(41030, "invalid page")
        if not isinstance(data, dict):
            raise ApiError(47003, "argument invalid! data invalid")
        values: dict[str, str] = {}
        for key, kind in fields.items():
            entry = data.get(key)
            value = entry.get("value") if isinstance(entry, dict) else None
            if not value_is_valid(kind, value):
                raise ApiError(47003, f"argument invalid! data.{key}.value invalid")
            values[key] = str(value)
        if state.credits[(openid, template_id)] <= 0:
            raise ApiError(43101, "user refuse to accept the msg")
        state.credits[(openid, template_id)] -= 1
        state.sends.append(
            {
                "openid": openid,
                "template_id": template_id,
                "data": values,
                "page": body.get("page"),
                "miniprogram_state": body.get("miniprogram_state", "formal"),
                "lang": body.get("lang", "zh_CN"),
                "at": state.now(),
            }
        )
    return _ok(msgid=secrets.randbits(40))


def _page_with_query(page: object) -> bool:
    if not isinstance(page, str) or "?" not in page:
        return False
    path, _, _ = page.partition("?")
    return page_is_valid(path)


@api.post("/wxa/msg_sec_check")
def msg_sec_check() -> Response:
    state = current_state()
    with state.lock:
        state.check_token(request.args.get("access_token"))
    body = _body()
    if body.get("version") != 2:
        raise ApiError(47001, "data format error: version must be 2")
    content, scene, openid = body.get("content"), body.get("scene"), body.get("openid")
    if not isinstance(content, str) or scene not in (1, 2, 3, 4):
        raise ApiError(40097, "invalid args")
    with state.lock:
        if not isinstance(openid, str) or openid not in state.users:
            raise ApiError(40003, "invalid openid")
        risky = next((word for word in state.risky_words if word in content), None)
        review = next((word for word in state.review_words if word in content), None)
    if risky:
        suggest, label, keyword = "risky", 20006, risky
    elif review:
        suggest, label, keyword = "review", 21000, review
    else:
        suggest, label, keyword = "pass", 100, None
    detail = {"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label, "prob": 90}
    if keyword:
        detail = {**detail, "strategy": "keyword", "keyword": keyword}
    return _ok(result={"suggest": suggest, "label": label}, detail=[detail], trace_id=uuid.uuid4().hex)


@api.post("/wxa/getwxacodeunlimit")
def getwxacodeunlimit() -> Response:
    state = current_state()
    with state.lock:
        state.check_token(request.args.get("access_token"))
    body = _body()
    scene, page = body.get("scene"), body.get("page")
    if not scene_is_valid(scene):
        raise ApiError(40169, "invalid length for scene, or the data is not json string")
    if page is not None and not page_is_valid(page):
        raise ApiError(41030, "invalid page")
    if body.get("env_version", "release") not in ("release", "trial", "develop"):
        raise ApiError(40097, "invalid args")
    width = body.get("width", 430)
    if not isinstance(width, int) or not 280 <= width <= 1280:
        width = 430
    return Response(draw_wxa_code(str(scene), page, width), mimetype="image/png")


def answer_api_error(exc: ApiError) -> Response:
    """An errcode answer with a request id in errmsg, as WeChat writes it."""
    return jsonify({"errcode": exc.errcode, "errmsg": f"{exc.errmsg} rid: {_rid()}"})
