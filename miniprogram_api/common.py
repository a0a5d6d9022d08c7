"""What every mini-program endpoint shares: bearer auth, the acting member, pagination."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import g, request

from backend.db import MAX_ID
from backend.errors import DomainError, MemberNotActive
from backend.extensions import db
from backend.members.auth import authenticate
from backend.members.models import Member, MemberStatus, WechatAccount

BEARER = [{"bearerAuth": []}]


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    message = "登录已失效，请重新进入小程序"


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_account() -> WechatAccount:
    """The logged-in WeChat account, or 401."""
    if "account" not in g:
        token = bearer_token()
        account = authenticate(token) if token else None
        if account is None:
            raise Unauthorized()
        g.account = account
    return g.account


def current_member() -> Member:
    """The caller's member record for member-only actions; 403 member_not_active otherwise."""
    member = current_account().member
    if member is None or member.status != MemberStatus.active:
        raise MemberNotActive()
    return member


def rate_limit_key() -> str:
    """Per session when logged in, per address otherwise (for Flask-Limiter)."""
    token = bearer_token()
    if token:
        return "t:" + hashlib.sha256(token.encode()).hexdigest()[:16]
    return "ip:" + (request.remote_addr or "")


def member_rate_limit_key() -> str:
    """Per member for routes behind `login_required` (listed after it in `decorators`), so that logging
    in again for a fresh token does not start a fresh count; per WeChat account before binding."""
    account = current_account()
    if account.member_id is not None:
        return f"m:{account.member_id}"
    return f"a:{account.id}"


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Resolves the caller before the view runs, so a bad token is 401 before any validation."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_account()
        return view(*args, **kwargs)

    return wrapper


class DbId(ma.fields.Integer):
    """An id of one of our records in a request body: 1 … MAX_ID, or a 422 (never an overflow)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=ma.validate.Range(min=1, max=MAX_ID), **kwargs)


class PageQuery(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    page_size = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """`{"items": [...], "page", "page_size", "total"}` for one item type (API.md, Conventions)."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "page": ma.fields.Integer(),
            "page_size": ma.fields.Integer(),
            "total": ma.fields.Integer(),
        },
        name=name,
    )


def paginate(
    query: sa.Select[Any], args: Mapping[str, Any], *, item: Callable[..., Any] | None = None
) -> dict[str, Any]:
    """One page of `query` as API.md's list answer, for the `page` and `page_size` of a PageQuery.

    Without `item` the page holds the query's first column (an ORM object for the marshmallow schema);
    with it, `item(*row)` builds each entry from the row's columns.
    """
    page, page_size = args["page"], args["page_size"]
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0
    result = db.session.execute(query.limit(page_size).offset((page - 1) * page_size))
    items = list(result.scalars()) if item is None else [item(*row) for row in result]
    return {"items": items, "page": page, "page_size": page_size, "total": total}
