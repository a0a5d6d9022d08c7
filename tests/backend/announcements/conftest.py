from __future__ import annotations

import pytest

from tests.factories import Role, make_staff


@pytest.fixture
def officer_a(app, union):
    return make_staff(app, Role.officer, union.branch_a)
