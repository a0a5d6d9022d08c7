"""Error responses: API.md's JSON shape under /api/ and /wechat/, an HTML page everywhere else.

flask-smorest installs an app-wide HTTPException handler; these handlers replace it so that every
error, whatever raised it (routing, webargs, Flask-Limiter, a DomainError, a bug), has one shape.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from jinja2 import TemplateNotFound
from werkzeug.exceptions import HTTPException, InternalServerError

from backend.errors import DomainError

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/wechat/")

HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式有误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "您没有权限进行此操作"),
    404: ("not_found", "内容不存在或已被删除"),
    405: ("method_not_allowed", "不支持该请求方式"),
    409: ("conflict", "操作与当前状态冲突，请刷新后重试"),
    413: ("too_large", "提交的内容太大"),
    415: ("unsupported_type", "不支持的内容类型"),
    422: ("validation_error", "提交的内容有误，请检查后重试"),
    429: ("rate_limited", "操作太频繁，请稍后再试"),
    500: ("internal_error", "服务器开小差了，请稍后再试"),
    503: ("service_unavailable", "服务暂时不可用，请稍后再试"),
}

# marshmallow's and webargs' English messages, as a worker should read them. Every default message of
# every marshmallow field and validator is covered (tests/miniprogram_api/test_errors.py reads them all
# from the installed library); one that slips through still reaches nobody in English (_translate).
FIELD_MESSAGES = {
    "Missing data for required field.": "此项必填",
    "Field may not be null.": "此项不能为空",
    "Not a valid string.": "应为文字",
    "Not a valid integer.": "应为整数",
    "Not a valid number.": "应为数字",
    "Not a valid boolean.": "应为是或否",
    "Not a valid date.": "日期格式不正确",
    "Not a valid datetime.": "时间格式不正确",
    "Not a valid time.": "时间格式不正确",
    "Not a valid period of time.": "时长格式不正确",
    "Not a valid list.": "应为列表",
    "Not a valid tuple.": "应为列表",
    "Not a valid mapping type.": "格式不正确",
    "Invalid input type.": "格式不正确",
    "Invalid type.": "格式不正确",
    "Unknown field.": "不支持的字段",
    "Invalid value.": "取值不正确",
    "Invalid input.": "取值不正确",
    "Shorter than minimum length 1.": "此项不能为空",
    "Invalid JSON body.": "请求内容格式有误，无法读取",
    "Not a valid UUID.": "编号格式不正确",
    "Not a valid email address.": "邮箱地址不正确",
    "Not a valid URL.": "网址不正确",
    "Not a valid utf-8 string.": "文字编码不正确",
    "Special numeric values (nan or infinity) are not permitted.": "应为数字",
    "Number too large.": "数值太大",
    "String does not match expected pattern.": "格式不正确",
}

# Messages that carry a value (a length, a bound, the choices): by how they begin.
FIELD_MESSAGE_STARTS = (
    ("Must be one of", "取值不在可选范围内"),
    ("One or more of the choices you made", "取值不在可选范围内"),
    ("Length must be", "长度不符合要求"),
    ("Longer than maximum length", "长度不符合要求"),
    ("Shorter than minimum length", "长度不符合要求"),
    ("Must be greater", "数值超出范围"),
    ("Must be less", "数值超出范围"),
    ("Must be equal to", "取值不正确"),
    ("Not a valid naive", "时间格式不正确，不应带时区"),
    ("Not a valid aware", "时间格式不正确，请带上时区"),
    ("Not a valid IP", "网络地址格式不正确"),
    ("Not a valid ", "格式不正确"),
)
CJK = re.compile(r"[\u4e00-\u9fff]")


def wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or request.path in ("/healthz", "/readyz")


def field_message(message: str) -> str | None:
    """The Chinese for one of marshmallow's or webargs' messages, or None when it is not one we know."""
    if message in FIELD_MESSAGES:
        return FIELD_MESSAGES[message]
    if " cannot be formatted as " in message:  # '"x" cannot be formatted as a date.' (a value we send)
        return "格式不正确"
    return next((chinese for start, chinese in FIELD_MESSAGE_STARTS if message.startswith(start)), None)


def _translate(messages: Any) -> Any:
    if isinstance(messages, dict):
        return {str(k): _translate(v) for k, v in messages.items()}
    if isinstance(messages, list):
        return [_translate(m) for m in messages]
    if isinstance(messages, str):
        # Ours are Chinese already; a library message not listed (a new marshmallow release) is still
        # never shown to a worker in English.
        known = field_message(messages)
        return known or (messages if CJK.search(messages) else "取值不正确")
    return messages


def _flatten_locations(messages: dict[str, Any]) -> dict[str, Any]:
    """webargs nests field errors under their location ("json", "query"); the contract does not."""
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if location in ("json", "query", "form", "files", "headers", "view_args") and isinstance(
            fields, dict
        ):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


def json_error(
    status: int, code: str, message: str, errors: Any = None, headers: Any = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "error": code,
        "message": message,
        **extra,
    }
    if errors:
        body["errors"] = errors
    try:
        response = jsonify(body)
    except UnicodeEncodeError:  # a field name we repeat back holds text UTF-8 cannot carry: escape it
        response = Response(json.dumps(body, ensure_ascii=True), mimetype="application/json")
    response.status_code = status
    if headers:
        response.headers.extend(headers)
    return response


def html_error(status: int, message: str) -> tuple[str, int]:
    try:
        return render_template("admin/error.html", status=status, message=message), status
    except TemplateNotFound:
        return f"<!doctype html><meta charset=utf-8><h1>{status}</h1><p>{message}</p>", status


def handle_domain_error(error: DomainError) -> Any:
    if wants_json():
        return json_error(error.status, error.code, error.message, error.errors)
    return html_error(error.status, error.message)


def handle_http_exception(error: HTTPException) -> Any:
    status = error.code or 500
    code, message = HTTP_CODES.get(status, ("error", HTTPStatus(status).phrase))
    errors = None
    data = getattr(error, "data", None) or {}
    if status in (400, 422) and "messages" in data:  # webargs / marshmallow field errors
        errors = _translate(_flatten_locations(data["messages"]))
    headers = data.get("headers") or (error.get_headers() if status in (405, 429) else None)
    if headers:
        headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
    if wants_json():
        return json_error(status, code, message, errors, headers)
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        message = (
            f"提交的内容太大：一次提交合计不能超过 {round(limit / (1024 * 1024), 1):g} MB。"
            "请用浏览器的「返回」回到上一页（已填的内容还在），减少附件后再保存，其余附件可以分几次添加。"
        )
    return html_error(status, message)


def handle_unexpected(error: Exception) -> Any:
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_exception(InternalServerError())


def register(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
