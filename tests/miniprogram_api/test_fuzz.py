"""Thousands of malformed requests, generated from the served OpenAPI document, give no 5xx.

Schema-aware: bodies follow each operation's request schema but with fields dropped, added, and given
values of the wrong type, size or encoding; path ids, query strings and the Authorization header vary.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import api_login

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=300),
    st.sampled_from(["", " ", "0", "-1", "null", "\u0000", "🙂" * 40, "<script>", "' OR 1=1 --", "a" * 5000]),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=8,
)


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


@st.composite
def bodies(draw: st.DrawFn, spec: dict[str, Any], schema: dict[str, Any] | None) -> Any:
    if schema is None or draw(st.integers(0, 9)) == 0:
        return draw(JSON_VALUES)
    schema = _resolve(spec, schema)
    body: dict[str, Any] = {}
    for name in schema.get("properties", {}):
        if draw(st.booleans()):
            body[name] = draw(JSON_VALUES)
    if draw(st.integers(0, 4)) == 0:
        body[draw(st.text(min_size=1, max_size=12))] = draw(JSON_VALUES)
    return body


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    methods = {"get", "post", "put", "patch", "delete"}
    return [
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if path.startswith("/api/v1/") and method in methods
    ]


def test_no_malformed_request_gets_a_5xx(app, client, emu):
    spec = client.get("/api/v1/openapi.json").get_json()
    operations = _operations(spec)
    good_token = api_login(client, emu, "wx-fuzz")
    limits = {key: app.config[key] for key in ("LOGIN_RATE_LIMIT", "BINDING_RATE_LIMIT")}
    app.config.update(LOGIN_RATE_LIMIT="100000 per minute", BINDING_RATE_LIMIT="100000 per minute")

    @settings(
        max_examples=1500,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        method, path, operation = data.draw(st.sampled_from(operations))
        url = path
        for name in set(part[1:-1] for part in path.split("/") if part.startswith("{")):
            value = data.draw(st.one_of(st.integers(-5, 10**12).map(str), st.text(min_size=1, max_size=20)))
            url = url.replace("{" + name + "}", quote(value, safe="") or "x")
        schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        authorization = data.draw(
            st.sampled_from(
                [
                    None,
                    f"Bearer {good_token}",
                    "Bearer nonsense",
                    "Basic x",
                    "Bearer ",
                    "bearer " + good_token,
                ]
            )
        )
        headers = {"Authorization": authorization} if authorization else {}
        query = data.draw(
            st.dictionaries(
                st.sampled_from(["page", "page_size", "scope", "category", "x"]),
                st.text(max_size=20),
                max_size=3,
            )
        )
        if data.draw(st.integers(0, 5)) == 0:
            raw = data.draw(st.binary(max_size=200))
            response = client.open(
                url,
                method=method.upper(),
                data=raw,
                headers=headers,
                query_string=query,
                content_type=data.draw(st.sampled_from(["application/json", "text/plain"])),
            )
        else:
            payload = json.dumps(data.draw(bodies(spec, schema)), ensure_ascii=False)
            response = client.open(
                url,
                method=method.upper(),
                data=payload,
                headers=headers,
                query_string=query,
                content_type="application/json",
            )
        assert response.status_code < 500, (method, url, response.get_data(as_text=True)[:300])
        if response.status_code >= 400:
            body = response.get_json()
            assert body["error"] and body["message"], body

    try:
        check()
    finally:
        app.config.update(limits)
