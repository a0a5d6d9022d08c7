from __future__ import annotations

import pytest

from tests.backend.uploads.helpers import empty_upload_dir
from tests.factories import Role, make_staff, make_union


@pytest.fixture
def union(app):
    return make_union(app)


@pytest.fixture
def root_staff(app, union):
    return make_staff(app, Role.officer, union.root)


@pytest.fixture
def upload_dir(app):
    return empty_upload_dir(app)
