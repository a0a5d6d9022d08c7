"""The requests the fuzz sends (test_fuzz.py): which operations the served OpenAPI document lists, who
calls, and one drawn request: path ids, query, declared headers, a body of the kind the operation takes.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import strategies as st

from backend.extensions import db
from backend.members.models import Member
from backend.notifications.models import Notification
from tests.factories import (
    PDF,
    Role,
    Union,
    announcement_with_files,
    api_login,
    auth,
    bound_member,
    empty_upload_dir,
    get,
    make_staff,
    make_union,
)
from tests.miniprogram_api.fuzz_bodies import (
    JSON_VALUES,
    header_values,
    hostile_json_texts,
    one_field_wrong,
    random_bodies,
    valid_bodies,
)
from tests.miniprogram_api.fuzz_multipart import CANNED_UPLOADS, multipart_bodies

# Per request, sometimes: a lowered file size limit, request size limit, or pending-uploads quota.
SIZE_LIMITS = ("UPLOAD_MAX_BYTES", "MAX_CONTENT_LENGTH", "UPLOAD_MEMBER_PENDING_BYTES")
LOWERED_LIMITS = st.sampled_from(
    [{}] * 6
    + [
        {"UPLOAD_MAX_BYTES": 1024},
        {"MAX_CONTENT_LENGTH": 2048},
        {"UPLOAD_MEMBER_PENDING_BYTES": 1},
        {"UPLOAD_MEMBER_PENDING_BYTES": 4096},
    ]
)
PATH_VALUES = st.one_of(
    st.integers(-5, 10**12).map(str),
    st.integers(1, 8).map(str),  # rows that exist: the announcement, its attachment, the member's uploads
    st.sampled_from(["0", "00", "2147483647", "2147483648", "9223372036854775808", "1e3", "+1", "１"]),
    st.text(min_size=1, max_size=20),
)
QUERY_NAMES = ["page", "page_size", "scope", "category", "x"]
QUERY_VALUES = st.one_of(
    st.text(max_size=20), st.sampled_from(["1", "100000", "100001", str(2**63), "-1", "\x00", "notice\x00"])
)


@dataclass
class Operation:
    method: str
    path: str
    json_schema: dict[str, Any] | None
    multipart: bool
    headers: list[str]
    queries: list[str]


def operations(spec: dict[str, Any]) -> list[Operation]:
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not path.startswith("/api/v1/") or method not in {"get", "post", "put", "patch", "delete"}:
                continue
            content = op.get("requestBody", {}).get("content", {})
            params = [*item.get("parameters", []), *op.get("parameters", [])]
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    json_schema=content.get("application/json", {}).get("schema"),
                    multipart="multipart/form-data" in content,
                    headers=[p["name"] for p in params if p["in"] == "header"],
                    queries=[p["name"] for p in params if p["in"] == "query"],
                )
            )
    return found


@dataclass
class Callers:
    """Who calls. Tokens that a logout or an account deletion killed, or whose account stopped being
    what its label says, are replaced after the request, so later examples still reach past the login.
    """

    app: Flask
    client: FlaskClient
    emu: Any
    union: Union
    tokens: dict[str, str] = field(default_factory=dict)
    renewed: int = 0

    def __post_init__(self) -> None:
        self.tokens["unbound"] = api_login(self.client, self.emu, "wx-fuzz-0")
        self.first_member_id, self.tokens["member"] = bound_member(
            self.app, self.client, self.emu, self.union.group_a
        )

    def authorization(self, label: str) -> str | None:
        fixed = {"none": None, "nonsense": "Bearer nonsense", "basic": "Basic x", "empty": "Bearer "}
        if label in fixed:
            return fixed[label]
        owner, _, variant = label.partition(":")
        return ("bearer " if variant == "lowercase" else "Bearer ") + self.tokens[owner]

    def settle(self, label: str) -> None:
        owner = label.partition(":")[0]
        if owner not in self.tokens:
            return
        me = self.client.get("/api/v1/me", headers=auth(self.tokens[owner]))
        active = me.status_code == 200 and me.get_json()["status"] == "active"
        if me.status_code == 200 and active == (owner == "member"):
            return
        self.renewed += 1
        if owner == "member":
            self.tokens[owner] = bound_member(self.app, self.client, self.emu, self.union.group_a)[1]
        else:
            self.tokens[owner] = api_login(self.client, self.emu, f"wx-fuzz-{self.renewed}")


@dataclass
class World:
    app: Flask
    client: FlaskClient
    spec: dict[str, Any]
    operations: list[Operation]
    callers: Callers
    hints: dict[str, st.SearchStrategy[Any]]
    upload_dir: Path
    # (method, path, caller, status, "replayed" or "") → how many: what the fuzz reached.
    seen: Counter[tuple[str, str, str, int, str]] = field(default_factory=Counter)


def build_world(app: Flask, client: FlaskClient, emu: Any) -> World:
    """A union with a bound member and an unbound account, and something for the member to read: an
    announcement to everyone (an inbox message) with a PDF attached."""
    upload_dir = empty_upload_dir(app)
    spec = client.get("/api/v1/openapi.json").get_json()
    union = make_union(app)
    callers = Callers(app, client, emu, union)
    staff_id = make_staff(app, Role.officer, union.root)
    announcement_id, [attachment_id] = announcement_with_files(
        app, staff_id, [(PDF, "通知附件.pdf")], whole_union=True
    )
    with app.app_context():
        message_ids = list(db.session.scalars(sa.select(Notification.id)))
    member = get(app, Member, callers.first_member_id)
    templates = sorted(client.get("/api/v1/config").get_json()["subscribe_templates"].values())
    # Real values by field or path parameter name, so that valid requests find what they ask for.
    hints = {
        "announcement_id": st.just(announcement_id),
        "upload_id": st.just(attachment_id),
        "message_id": st.sampled_from(message_ids),
        "group_id": st.sampled_from([union.root, union.branch_a, union.group_a, union.group_b]),
        "name": st.just(member.name),
        "employee_no": st.just(member.employee_no),
        "results": st.dictionaries(
            st.sampled_from(templates), st.sampled_from(["accept", "reject", "ban", "filter"]), min_size=1
        ),
    }
    return World(app, client, spec, operations(spec), callers, hints, upload_dir)


@dataclass
class Body:
    data: bytes
    content_type: str | None
    again: bool = False  # one of the few fixed requests sent again and again (with AGAIN_KEYS)


@st.composite
def bodies(draw: st.DrawFn, world: World, op: Operation) -> Body:
    """The request's bytes and Content-Type, of the kind the operation takes (and sometimes not)."""
    if op.multipart:
        kind = draw(
            st.sampled_from(["multipart"] * 6 + ["same upload again"] * 3 + ["json", "raw", "hostile json"])
        )
    elif op.json_schema is not None:
        kind = draw(
            st.sampled_from(["random json"] * 3 + ["one field wrong"] * 4 + ["valid", "raw", "hostile json"])
        )
    else:
        kind = draw(st.sampled_from(["random json"] * 4 + ["raw", "multipart", "hostile json"]))
    if kind in ("multipart", "same upload again"):
        again = kind == "same upload again"
        form = draw(multipart_bodies(CANNED_UPLOADS if again else None))
        return Body(form.body, form.content_type, again)
    if kind == "raw":
        content_type = draw(st.sampled_from(["application/json", "text/plain", "multipart/form-data", None]))
        return Body(draw(st.binary(max_size=200)), content_type)
    if kind == "hostile json":
        return Body(draw(hostile_json_texts(world.spec, op.json_schema)).encode(), "application/json")
    if kind == "one field wrong" and op.json_schema is not None:
        value = draw(one_field_wrong(world.spec, op.json_schema, world.hints))
    elif kind == "valid" and op.json_schema is not None:
        value = draw(valid_bodies(world.spec, op.json_schema, world.hints))
    elif kind == "json":
        value = draw(JSON_VALUES)
    else:
        value = draw(random_bodies(world.spec, op.json_schema))
    # \u escapes (ensure_ascii) or raw UTF-16 surrogates: how a lone surrogate gets into a body at all.
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    return Body(text.encode("utf-8", "surrogatepass"), "application/json")


@dataclass
class Sent:
    op: Operation
    url: str
    query: dict[str, str]
    headers: list[tuple[str, str]]
    data: bytes
    content_type: str | None
    caller: str
    limits: dict[str, int]

    def __str__(self) -> str:
        return (
            f"{self.op.method} {self.url} query={self.query!r} caller={self.caller} limits={self.limits}\n"
            f"headers={self.headers!r}\ncontent_type={self.content_type!r}\nbody={self.data[:3000]!r}"
        )


@st.composite
def requests(draw: st.DrawFn, world: World, ops: list[Operation], callers: list[str]) -> Sent:
    op = draw(st.sampled_from(ops))
    url = op.path
    for name in sorted({part[1:-1] for part in op.path.split("/") if part.startswith("{")}):
        values = st.one_of(PATH_VALUES, world.hints[name].map(str)) if name in world.hints else PATH_VALUES
        url = url.replace("{" + name + "}", quote(draw(values), safe="") or "x")
    body = draw(bodies(world, op))
    caller = draw(st.sampled_from(callers))
    authorization = world.callers.authorization(caller)
    headers = [("Authorization", authorization)] if authorization is not None else []
    declared = op.headers or (["Idempotency-Key"] if draw(st.integers(0, 9)) == 0 else [])
    for name in declared:
        if draw(st.integers(0, 3)) > 0:
            headers.append((name, draw(header_values(name, again=body.again))))
    query = (
        {}
        if body.again
        else draw(st.dictionaries(st.sampled_from(QUERY_NAMES + op.queries), QUERY_VALUES, max_size=3))
    )
    limits = draw(LOWERED_LIMITS)
    return Sent(op, url, query, headers, body.data, body.content_type, caller, limits)
