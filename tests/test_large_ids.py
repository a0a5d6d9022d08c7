"""An id beyond what the database can hold is a 404, on every route that takes one (not a 500)."""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from backend.staff.models import Role
from tests.factories import api_login, auth, bound_member, make_staff, make_union, staff_login

HUGE = (2**31, 10**20)


def _routes_with_ids(app):
    rules = [rule for rule in app.url_map.iter_rules() if "<int:" in rule.rule]
    assert rules, "no route takes an id?"
    return rules


def test_every_id_in_a_route_is_bounded_by_the_columns_range(app):
    for rule in _routes_with_ids(app):
        for converter in rule._converters.values():
            if isinstance(converter, IntegerConverter):
                assert converter.max == 2**31 - 1, rule.rule


@pytest.mark.parametrize("huge", HUGE)
def test_huge_ids_are_404_for_members_and_staff(app, client, emu, huge):
    union = make_union(app)
    _, token = bound_member(app, client, emu, union.group_a)
    make_staff(app, Role.admin, union.root, username="root_admin")
    staff = app.test_client()
    staff_login(staff, "root_admin")
    for rule in _routes_with_ids(app):
        url = re.sub(r"<int:[a-z_]+>", str(huge), rule.rule)
        url = re.sub(r"<any\(([a-z_]+)[^>]*>", r"\1", url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.rule.startswith("/admin"):
                response = staff.open(url, method=method)
            else:
                response = client.open(url, method=method, headers=auth(token), json={})
            # 400: a write without the admin's CSRF token is refused before the id is looked at.
            assert response.status_code in (400, 404), (method, url, response.status_code)


def test_a_huge_page_number_shows_a_page_not_an_error(app, client):
    union = make_union(app)
    make_staff(app, Role.admin, union.root, username="root_admin")
    staff_login(client, "root_admin")
    pages = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin/") and "GET" in rule.methods and not rule.arguments
    ]
    for url in pages:
        response = client.get(f"{url}?page=99999999999999999999")
        assert response.status_code < 500, (url, response.status_code)


@pytest.mark.parametrize("huge", HUGE)
def test_huge_ids_in_bodies_and_query_strings_are_refused_not_500(app, client, emu, huge):
    union = make_union(app)
    token = api_login(client, emu, "wx-huge-id")
    response = client.post(
        "/api/v1/me/binding",
        json={"name": "新职工", "employee_no": "NEW-HUGE", "group_id": huge},
        headers=auth(token),
    )
    assert response.status_code == 422 and "group_id" in response.get_json()["errors"]

    make_staff(app, Role.admin, union.root, username="root_admin")
    staff_login(client, "root_admin")
    for query in (str(huge), "²", "-1"):
        assert client.get(f"/admin/members/?group={query}").status_code == 404
        assert client.get(f"/admin/members/new?group={query}").status_code == 200


def test_attachment_ids_beyond_the_range_are_a_field_error(app, client, emu):
    from backend.db import unit_of_work
    from backend.errors import ValidationFailed
    from backend.extensions import db
    from backend.members.models import Member
    from backend.uploads.operations import attach_uploads

    member_id, _ = bound_member(app, client, emu, make_union(app).group_a)
    with app.app_context(), pytest.raises(ValidationFailed) as refused, unit_of_work():
        attach_uploads([2**40], member=db.session.get(Member, member_id))
    assert "attachment_ids" in refused.value.errors
