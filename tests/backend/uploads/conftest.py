from __future__ import annotations

import pytest

from tests.backend.uploads.helpers import empty_upload_dir
from tests.factories import make_union


@pytest.fixture
def union(app):
    return make_union(app)


@pytest.fixture
def upload_dir(app):
    return empty_upload_dir(app)
