"""member_endpoint: every member route resolves the caller first, and says so in the OpenAPI document."""

from __future__ import annotations

import re

import pytest
from flask_smorest import Blueprint

from miniprogram_api.common import BEARER, Unauthorized, member_endpoint
from tests.factories import auth


def _bearer_operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters" and operation.get("security") == BEARER:
                yield method, re.sub(r"\{[^}]+\}", "1", path), operation


def test_every_member_route_is_401_before_any_validation(app, client):
    """A bad body, query and Idempotency-Key too: the token is checked before any of them."""
    operations = list(_bearer_operations(client))
    assert len(operations) >= 13
    for method, path, operation in operations:
        assert "401" in operation["responses"], (method, path)
        response = client.open(
            path,
            method=method.upper(),
            data="{not json",
            content_type="application/json",
            query_string={"page": 0, "category": "nonsense"},
            headers={**auth("made-up"), "Idempotency-Key": "not a valid key"},
        )
        assert response.status_code == 401, (method, path, response.get_json())


def test_a_bad_token_on_binding_is_401_and_not_counted_by_the_rate_limit(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "BINDING_RATE_LIMIT", "1 per hour")
    for _ in range(3):
        response = client.post("/api/v1/me/binding", json={}, headers=auth("made-up"))
        assert response.status_code == 401


def test_on_a_single_method_it_documents_and_checks_the_caller_first(app):
    blp = Blueprint("probe", __name__)
    called = []

    @member_endpoint(blp)
    @blp.response(204)
    def post() -> None:
        called.append(True)

    assert post._apidoc["manual_doc"]["security"] == BEARER
    assert [r["description"] for r in post._apidoc["response"]["responses"][401]] == ["unauthorized"]
    with app.test_request_context("/", method="POST", headers=auth("made-up")), pytest.raises(Unauthorized):
        post()
    assert called == []
