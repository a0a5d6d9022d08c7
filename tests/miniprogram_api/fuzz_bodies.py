"""Hypothesis strategies for JSON bodies and header parameters, read from the served OpenAPI document.

Three kinds of JSON body: anything at all (`random_bodies`, loosely shaped like the schema), a VALID
body built from the schema (`valid_bodies`), and a valid body with exactly one field made wrong
(`one_field_wrong`: a huge or negative number, a wrong type, a long string, the field dropped), which
is how "an id in a body beyond the column's range" and its kin show up. And JSON text that json.dumps
cannot write (`hostile_json_texts`): nesting a thousand deep, integer literals of thousands of digits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

Spec = dict[str, Any]
Hints = Mapping[str, st.SearchStrategy[Any]]

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

HUGE_INTS = [
    2**31 - 1,
    2**31,
    -(2**31) - 1,
    2**32,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    2**64,
    10**30,
    -(10**30),
    10**400,
]
# One wrong value for a field: out of any column's range, of the wrong type, too long, or odd text.
WRONG_VALUES = st.one_of(
    st.sampled_from(HUGE_INTS),
    st.sampled_from(HUGE_INTS).map(str),  # marshmallow's Integer takes "2147483648" too
    st.sampled_from([-1, 0, -(2**31), 1.5, -0.0, 1e308, math.inf, -math.inf, math.nan]),
    st.sampled_from(
        [True, False, None, [], [1], {}, {"id": 1}, "", " ", "1", "1e3", "0x1F", " 42 ", "１２３"]
    ),
    st.sampled_from(
        ["a" * 256, "a" * 100_000, "🙂" * 1000, "\u0000", "a\u0000b", "\ud800", "\u202e", "null"]
    ),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.text(max_size=80),
)


def resolve(spec: Spec, schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


@st.composite
def random_bodies(draw: st.DrawFn, spec: Spec, schema: dict[str, Any] | None) -> Any:
    """Any JSON, or the schema's fields each present or not with any value, plus an unknown one."""
    if schema is None or draw(st.integers(0, 9)) == 0:
        return draw(JSON_VALUES)
    schema = resolve(spec, schema)
    body: dict[str, Any] = {}
    for name in schema.get("properties", {}):
        if draw(st.booleans()):
            body[name] = draw(JSON_VALUES)
    if draw(st.integers(0, 4)) == 0:
        body[draw(st.text(min_size=1, max_size=12))] = draw(JSON_VALUES)
    return body


VALID_LETTERS = st.characters(categories=["L", "N"])
VALID_TEXT = st.text(alphabet=VALID_LETTERS, min_size=1, max_size=12)


@st.composite
def valid_values(draw: st.DrawFn, spec: Spec, schema: dict[str, Any], hints: Hints, name: str = "") -> Any:
    """A value the schema allows; `hints` give real values (existing ids, known keys) by field name."""
    if name in hints and draw(st.integers(0, 3)) > 0:
        return draw(hints[name])
    schema = resolve(spec, schema)
    if schema.get("nullable") and draw(st.integers(0, 5)) == 0:
        return None
    if "enum" in schema:
        return draw(st.sampled_from([value for value in schema["enum"] if value is not None]))
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind == "object":
        return draw(valid_objects(spec, schema, hints))
    if kind == "array":
        return draw(st.lists(valid_values(spec, schema.get("items", {}), hints), max_size=3))
    if kind == "string":
        low, high = schema.get("minLength", 1), min(schema.get("maxLength", 12), 12)
        if schema.get("format") == "date-time":
            return "2024-05-01T08:00:00+08:00"
        return draw(st.text(alphabet=VALID_LETTERS, min_size=low, max_size=max(high, low)))
    if kind == "integer":
        low = schema.get("minimum", 1)
        return draw(st.integers(low, min(schema.get("maximum", low + 5), low + 5)))
    if kind == "number":
        return draw(st.floats(0, 100))
    if kind == "boolean":
        return draw(st.booleans())
    return draw(VALID_TEXT)


@st.composite
def valid_objects(draw: st.DrawFn, spec: Spec, schema: dict[str, Any], hints: Hints) -> dict[str, Any]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    body: dict[str, Any] = {}
    for name, sub in properties.items():
        if not sub.get("readOnly") and (name in required or draw(st.booleans())):
            body[name] = draw(valid_values(spec, sub, hints, name))
    extra = schema.get("additionalProperties")
    if not properties and isinstance(extra, dict) and extra:
        body = draw(st.dictionaries(VALID_TEXT, valid_values(spec, extra, hints), min_size=1, max_size=3))
    return body


def valid_bodies(spec: Spec, schema: dict[str, Any], hints: Hints) -> st.SearchStrategy[Any]:
    return valid_values(spec, schema, hints)


def _field_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where one field can be made wrong: every key and item, at any depth."""
    if isinstance(value, dict):
        children = value.items()
    elif isinstance(value, list):
        children = enumerate(value)
    else:
        return []
    paths = []
    for key, child in children:
        paths.append((*prefix, key))
        paths.extend(_field_paths(child, (*prefix, key)))
    return paths


@st.composite
def one_field_wrong(draw: st.DrawFn, spec: Spec, schema: dict[str, Any], hints: Hints) -> Any:
    """A valid body in which exactly one field (at any depth) is wrong, dropped or renamed."""
    body = draw(valid_bodies(spec, schema, hints))
    declared = list(resolve(spec, schema).get("properties", {}))
    paths = sorted(set(_field_paths(body)) | {(name,) for name in declared}, key=repr)
    if not paths:
        return draw(WRONG_VALUES)
    path = draw(st.sampled_from(paths))
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    action = draw(st.sampled_from(["wrong value"] * 6 + ["drop", "rename"]))
    if action == "wrong value":
        parent[key] = draw(WRONG_VALUES)
    elif isinstance(parent, dict) and key in parent:
        value = parent.pop(key)
        if action == "rename":
            parent[
                draw(
                    st.sampled_from(
                        ["", " ", "\u0000", "\ud800", "a" * 300, key.upper() if isinstance(key, str) else "x"]
                    )
                )
            ] = value
    elif isinstance(parent, list) and key < len(parent):
        del parent[key]
    return body


# Past Python's recursion limit (about 1,000 levels) and the API's MAX_JSON_DEPTH (32), or just past it.
NESTING_DEPTHS = st.sampled_from([33, 100, 900, 999, 1000, 5000])
# sys.get_int_max_str_digits() is 4,300: one more digit, and Python's parser raises ValueError.
HUGE_LITERAL_DIGITS = st.sampled_from([4301, 5000, 100_000])


@st.composite
def hostile_json_texts(draw: st.DrawFn, spec: Spec, schema: dict[str, Any] | None) -> str:
    """JSON text that json.dumps cannot write: nested a thousand deep, or an integer literal of
    thousands of digits; the whole body or one declared field's value, sometimes cut short."""
    depth = draw(NESTING_DEPTHS)
    digits = ("-" if draw(st.booleans()) else "") + "1" * draw(HUGE_LITERAL_DIGITS)
    value = draw(
        st.sampled_from(
            [
                "[" * depth + "]" * depth,
                '{"a":' * depth + "1" + "}" * depth,
                "[" * depth + digits + "]" * depth,
                digits,
                f"[{digits}, 1]",
                f'{{"x": {digits}}}',
                digits + ".5",
                "1e" + digits.lstrip("-"),
            ]
        )
    )
    names = list(resolve(spec, schema).get("properties", {})) if schema else []
    if names and draw(st.booleans()):
        value = "{" + json.dumps(draw(st.sampled_from(names))) + ": " + value + "}"
    if draw(st.integers(0, 5)) == 0:
        value = value[: draw(st.integers(0, len(value)))]
    return value


# Header parameters the spec declares, by name; any other declared header gets JSON-ish text.
VALID_KEYS = st.sampled_from(["retry-1", "retry-2", "550e8400-e29b-41d4-a716-446655440000"])
FRESH_KEYS = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=255)
MALFORMED_KEYS = st.sampled_from(
    [
        "",
        " ",
        "\t",
        "a" * 256,
        "a" * 10_000,
        "编号-1",
        "编号-1".encode().decode("latin-1"),  # UTF-8 bytes as a WSGI server hands them over
        "ключ",
        "é",
        "a b",
        "k\x7f",
        "k\x00",
        "\x01",
        " retry-1 ",
    ]
)
IDEMPOTENCY_KEYS = st.one_of(VALID_KEYS, VALID_KEYS, FRESH_KEYS, MALFORMED_KEYS)


# Keys kept for sending one of the same few requests again: the first use of a key decides what it
# means, so a later use is a replay (the same request) or idempotency_key_reused (another one).
AGAIN_KEYS = st.sampled_from(["again-1", "again-2"])


def header_values(name: str, again: bool = False) -> st.SearchStrategy[str]:
    if name.lower() == "idempotency-key":
        return st.one_of(AGAIN_KEYS, AGAIN_KEYS, AGAIN_KEYS, IDEMPOTENCY_KEYS) if again else IDEMPOTENCY_KEYS
    return st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300)
