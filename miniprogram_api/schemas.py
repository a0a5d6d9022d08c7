"""Schemas and fields shared by several mini-program modules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import marshmallow as ma

from backend.db import to_local
from backend.members.queries import group_display_path


class LocalDateTime(ma.fields.DateTime):
    """Stored UTC, shown as the union sees it: ISO 8601 with +08:00."""

    def _serialize(self, value: datetime | None, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return super()._serialize(to_local(value), attr, obj, **kwargs)


class DerivedString(ma.fields.String):
    """A string worked out from the whole object, like `ma.fields.Function`, but documented as the string
    it is: apispec documents a Function field without a type, and as readOnly."""

    _CHECK_ATTRIBUTE = False

    def __init__(self, derive: Callable[[Any], str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.derive = derive

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str:
        return self.derive(obj)


class GroupRefSchema(ma.Schema):
    """A Group as a worker names it."""

    id = ma.fields.Integer()
    name = ma.fields.String()
    path = DerivedString(
        group_display_path,
        metadata={"description": "从上到下的组织名称，如 公司工会 / 生产分会 / 装配一组"},
    )


class MeSchema(ma.Schema):
    """Dumps session.MeAnswer. The member's fields are null until the account is bound: a path through
    a missing member gives marshmallow nothing, and `dump_default=None` makes that a null."""

    id = ma.fields.Integer(attribute="account.id", metadata={"description": "微信账号编号"})
    status = ma.fields.String(
        metadata={"enum": ["unbound", "pending", "active", "rejected", "left"]},
    )
    name = ma.fields.String(allow_none=True, attribute="member.name", dump_default=None)
    employee_no = ma.fields.String(allow_none=True, attribute="member.employee_no", dump_default=None)
    phone_masked = ma.fields.String(allow_none=True, attribute="member.phone_masked", dump_default=None)
    group = ma.fields.Nested(GroupRefSchema, allow_none=True, attribute="member.group", dump_default=None)
    unread_messages = ma.fields.Integer()
    credits = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    join_request = ma.fields.Dict(
        allow_none=True,
        metadata={"description": "最近一次入会申请：{status, comment}（未通过时 comment 为原因）"},
    )
