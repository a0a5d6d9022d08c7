"""Schemas shared by several mini-program modules."""

from __future__ import annotations

import marshmallow as ma


class GroupRefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    path = ma.fields.String(metadata={"description": "从上到下的组织名称，如 公司工会 / 生产分会 / 装配一组"})


class MeSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "微信账号编号"})
    status = ma.fields.String(
        metadata={"enum": ["unbound", "pending", "active", "rejected", "left"]},
    )
    name = ma.fields.String(allow_none=True)
    employee_no = ma.fields.String(allow_none=True)
    phone_masked = ma.fields.String(allow_none=True)
    group = ma.fields.Nested(GroupRefSchema, allow_none=True)
    unread_messages = ma.fields.Integer()
    credits = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    join_request = ma.fields.Dict(
        allow_none=True,
        metadata={"description": "最近一次入会申请：{status, comment}（未通过时 comment 为原因）"},
    )
