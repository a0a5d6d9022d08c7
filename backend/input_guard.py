"""Requests that no handler can take are refused at the door, wherever in the request the trouble is.

Text that no database column can hold: PostgreSQL's text types cannot store NUL (0x00), and a lone
UTF-16 surrogate (valid in JSON as ``"\\ud800"``) cannot be encoded as UTF-8 at all. Left to the
handlers, both end in a driver error deep inside a write, or in a WeChat call, i.e. a 500. Checked once
here, for the query string, form fields and JSON bodies (keys and values, at any depth), they are a 400
``invalid_characters``.

Bodies that the parsers themselves trip over, a 400 ``bad_request``: a multipart part without a name
(Werkzeug files it under the key None, which nothing downstream expects), and JSON that Python's parser
refuses with something other than the JSONDecodeError that the views' parser turns into a 400: a
RecursionError for deep nesting, a ValueError for an integer literal longer than Python converts
(``sys.get_int_max_str_digits()``, 4,300 digits). JSON nested deeper than any body of the API is
refused too, so that no later walk over it (this guard, marshmallow, the idempotency digest) recurses
out of the stack.
"""

from __future__ import annotations

import json
from typing import Any

from flask import request

from backend.errors import DomainError

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
MAX_JSON_DEPTH = 32  # objects and arrays inside one another; the API's bodies nest three levels at most


class InvalidCharacters(DomainError):
    status = 400
    code = "invalid_characters"
    message = "提交的内容里有无法识别的字符（例如从别处复制来的特殊符号），请删除后重新提交"


class MalformedRequest(DomainError):
    status = 400
    code = "bad_request"
    message = "请求格式有误"


def unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _contains_unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return unstorable(value)
    if isinstance(value, dict):
        return any(_contains_unstorable(k) or _contains_unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_unstorable(item) for item in value)
    return False


def _nests_deeper_than(value: Any, limit: int) -> bool:
    """Without recursion: the value is what a hostile body made it."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _json_body() -> Any:
    """The parsed JSON body, or None when it is not JSON at all (the view's parser answers that with
    its own 400, naming the body)."""
    try:
        body = json.loads(request.get_data(cache=True))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    except (ValueError, RecursionError):
        raise MalformedRequest() from None
    if _nests_deeper_than(body, MAX_JSON_DEPTH):
        raise MalformedRequest()
    return body


def refuse_unstorable_text() -> None:
    """A ``before_request`` hook."""
    texts: list[str] = [part for item in request.args.items(multi=True) for part in item]
    if request.mimetype in FORM_TYPES:
        if None in request.form or None in request.files:
            raise MalformedRequest()
        texts.extend(part for item in request.form.items(multi=True) for part in item)
    if any(unstorable(text) for text in texts):
        raise InvalidCharacters()
    if request.is_json and _contains_unstorable(_json_body()):
        raise InvalidCharacters()
