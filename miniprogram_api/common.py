"""What every mini-program endpoint shares: bearer auth, the acting member, pagination."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar

import marshmallow as ma
import sqlalchemy as sa
from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.db import MAX_ID, count_rows
from backend.errors import DomainError, MemberNotActive
from backend.extensions import db
from backend.members.auth import authenticate
from backend.members.models import Member, MemberStatus, WechatAccount

BEARER = [{"bearerAuth": []}]

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


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
    """Per member for routes behind `member_endpoint` (which resolves the account first), so that logging
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


def member_endpoint(blp: Blueprint) -> Callable[[Endpoint], Endpoint]:
    """For an endpoint only a logged-in caller may use: `login_required`, and in the OpenAPI document the
    bearer security and the 401 answer. It takes the blueprint because flask-smorest keeps an operation's
    documentation on its function (`_apidoc`), written there by the blueprint's `doc` and `alt_response`.

    On a MethodView class, put it BELOW `@blp.route` (which reads the methods' documentation and the
    class's `decorators` when it registers the class): it documents every HTTP method and appends
    `login_required` to `decorators`, so it runs first, before the rate limits and idempotency listed
    there (`member_rate_limit_key` needs the account) and before any validation: a bad token is 401, never
    a 422 or a 429. On a single method, put it above the flask-smorest decorators, so it runs before them.
    """

    def document(function: Callable[..., Any]) -> Callable[..., Any]:
        function = blp.alt_response(401, description="unauthorized")(function)
        return blp.doc(security=BEARER)(function)

    def decorator(endpoint: Endpoint) -> Endpoint:
        if isinstance(endpoint, type) and issubclass(endpoint, MethodView):
            for method in endpoint.methods or ():
                setattr(endpoint, method.lower(), document(getattr(endpoint, method.lower())))
            endpoint.decorators = [*endpoint.decorators, login_required]
            return endpoint
        return login_required(document(endpoint))  # type: ignore[return-value]

    return decorator


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
    total = count_rows(query)
    result = db.session.execute(query.limit(page_size).offset((page - 1) * page_size))
    items = list(result.scalars()) if item is None else [item(*row) for row in result]
    return {"items": items, "page": page, "page_size": page_size, "total": total}
