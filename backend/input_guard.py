"""Text that no database column can hold is refused at the door, wherever in the request it comes.

PostgreSQL's text types cannot store NUL (0x00), and a lone UTF-16 surrogate (valid in JSON as
``"\\ud800"``) cannot be encoded as UTF-8 at all. Left to the handlers, both end in a driver error deep
inside a write, or in a WeChat call, i.e. a 500. Checked once here, for the query string, form fields
and JSON bodies (keys and values, at any depth), they are a 400 ``invalid_characters``.
"""

from __future__ import annotations

from typing import Any

from flask import request

from backend.errors import DomainError

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class InvalidCharacters(DomainError):
    status = 400
    code = "invalid_characters"
    message = "提交的内容里有无法识别的字符（例如从别处复制来的特殊符号），请删除后重新提交"


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


def refuse_unstorable_text() -> None:
    """A ``before_request`` hook."""
    texts: list[str] = [part for item in request.args.items(multi=True) for part in item]
    if request.mimetype in FORM_TYPES:
        texts.extend(part for item in request.form.items(multi=True) for part in item)
    if any(unstorable(text) for text in texts):
        raise InvalidCharacters()
    if request.is_json and _contains_unstorable(request.get_json(silent=True)):
        raise InvalidCharacters()
