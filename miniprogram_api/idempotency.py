"""The `Idempotency-Key` header (API.md, Conventions) for any write that creates something.

Put `idempotent` in the `decorators` of a MethodView under `member_endpoint` (which adds `login_required`
after them, so it runs first and `idempotent` runs with the caller known) and document the header with
`@blp.doc(**IDEMPOTENCY_DOC)`:

    @blp.route("/things")
    @member_endpoint(blp)
    class Things(MethodView):
        decorators = [idempotent, limiter.limit(...)]

The decorator owns the request's transaction, with or without the header: the view calls its
operations (which flush) and returns, WITHOUT `unit_of_work()`; the decorator commits once, after the
answer is stored, and `after_commit` callbacks run then as usual. A view that commits anyway raises
`CommitInsideIdempotentView` in its first test.

    def post(self, data):
        return submit_care_request(member=current_member(), **data)   # no unit_of_work here

Without the header a request runs as usual. With it, the first request acts and its answer (status and
body) is stored in the same transaction as the work and kept for 24 hours; the same key from the same
account with the same request gets that answer again (header `Idempotent-Replayed: true`) without
acting; with another request, 422 `idempotency_key_reused`. A request that fails anywhere (the view,
storing the answer, the commit, a dead process) leaves nothing behind, so retrying it with the same key
acts normally. See backend/idempotency.py for the concurrency story and the two 409s.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, make_response, request

from backend import idempotency
from backend.db import unit_of_work
from backend.errors import ValidationFailed
from miniprogram_api.common import current_account

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
CHUNK = 64 * 1024

IDEMPOTENCY_DOC: dict[str, Any] = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.KEY_MAX},
            "description": "可选。每次新的提交用一个新的随机编号（如 UUID）；网络重试时带同一个编号，"
            "24 小时内不会重复执行，直接返回第一次的结果（响应头 Idempotent-Replayed: true）。"
            "同一编号用于不同内容：422 idempotency_key_reused；第一次仍在处理：409 idempotency_key_in_use；"
            "第一次没有完成（超过 1 分钟仍无结果）：409 idempotency_key_abandoned，请换一个新编号重新提交。",
        }
    ]
}


def _key() -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not 1 <= len(key) <= idempotency.KEY_MAX or not all("!" <= ch <= "~" for ch in key):
        message = f"请求编号应为 1 到 {idempotency.KEY_MAX} 个英文字母、数字或符号（建议用 UUID）"
        raise ValidationFailed(errors={HEADER: [message]})
    return key


def _update_with_file(digest: Any, stream: Any) -> None:
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    stream.seek(0)  # the view reads it again


def request_fingerprint() -> str:
    """SHA-256 of what the request asks for: method, path, query, and the body as parsed.

    Parsed, not raw: a multipart body's boundary changes with every retry of the same upload, and the
    same JSON may come with its keys in another order.
    """
    digest = hashlib.sha256()

    def add(*parts: str) -> None:
        for part in parts:
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\x00")

    add(request.method, request.path)
    for name, value in sorted(request.args.items(multi=True)):
        add("q", name, value)
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for name, value in sorted(request.form.items(multi=True)):
            add("f", name, value)
        for name, storage in sorted(request.files.items(multi=True), key=lambda item: item[0]):
            add("file", name, storage.filename or "")
            _update_with_file(digest, storage.stream)
        return digest.hexdigest()
    data = request.get_data(cache=True)
    try:
        canonical = json.dumps(json.loads(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):  # not JSON (or absurdly nested): the bytes themselves
        digest.update(b"raw\x00" + data)
    else:
        add("json", canonical)
    return digest.hexdigest()


def _replay(answer: idempotency.StoredAnswer) -> Response:
    response = Response(answer.body, status=answer.status, content_type=answer.content_type or None)
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _run(view: Callable[..., Any], args: Any, kwargs: Any) -> Response:
    with idempotency.view_running():
        return make_response(view(*args, **kwargs))


class _Discarded(Exception):
    """Carries a failed answer out of the transaction, so that the transaction rolls back."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.method in SAFE_METHODS:  # reads are neither claimed nor replayed
            return view(*args, **kwargs)
        try:
            return _claimed_run(view, args, kwargs)
        except _Discarded as discarded:
            return discarded.response

    return wrapper


def _claimed_run(view: Callable[..., Any], args: Any, kwargs: Any) -> Response:
    key = _key()
    if key is None:
        with unit_of_work():
            return _kept(_run(view, args, kwargs))
    account_id = current_account().id
    fingerprint = request_fingerprint()  # reads the whole body before any row is locked
    with unit_of_work():
        outcome = idempotency.claim(account_id, key, request_hash=fingerprint, endpoint=request.path)
        if isinstance(outcome, idempotency.StoredAnswer):
            return _replay(outcome)
        response = _kept(_run(view, args, kwargs))
        idempotency.record_answer(
            outcome,
            status=response.status_code,
            body=response.get_data(as_text=True),
            content_type=response.content_type or "",
        )
        return response  # the claim, the work and the answer commit here, together


def _kept(response: Response) -> Response:
    """A 5xx (or a streamed body, which cannot be stored) is not an answer to keep: nothing of that
    request stays, its work rolls back with the claim, and a retry with the same key runs afresh."""
    if response.status_code >= 500 or response.is_streamed:
        raise _Discarded(response)
    return response
