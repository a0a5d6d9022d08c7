from __future__ import annotations

import pytest

from tests.factories import Role, make_staff, make_union


@pytest.fixture
def union(app):
    return make_union(app)


@pytest.fixture
def root_officer(app, union):
    return make_staff(app, Role.officer, union.root)


@pytest.fixture
def officer_a(app, union):
    return make_staff(app, Role.officer, union.branch_a)
