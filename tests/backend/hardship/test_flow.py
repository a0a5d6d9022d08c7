from __future__ import annotations

import pytest

from backend.extensions import db
from backend.hardship.models import HardshipApplication, HardshipFile, Status, Tier
from backend.notifications.models import Notification
from tests.backend.hardship.helpers import Cast
from tests.factories import count


@pytest.mark.parametrize("status", list(Status))
def test_every_status_is_reachable(app, union, status):
    cast = Cast(app, union)
    application_id = cast.to(status)
    assert cast.status(application_id) == status


def test_full_path_opens_a_file_and_tells_the_applicant_each_step(app, union):
    cast = Cast(app, union)
    application_id = cast.to(Status.disbursed)
    with app.app_context():
        application = db.session.get(HardshipApplication, application_id)
        assert [e.to_status for e in application.events] == [
            "draft",
            "submitted",
            "first_approved",
            "publicized",
            "publicized",
            "approved",
            "disbursed",
        ]
        assert application.tier == Tier.deep  # (36000 − 18000) / 12 / 3 = 500 元 ≤ 1000 元
        assert application.standard is not None
        file = db.session.query(HardshipFile).one()
        assert file.tier == Tier.deep and file.member_id == cast.member
    assert (
        count(app, Notification, Notification.member_id == cast.member, Notification.kind == "application")
        == 6
    )
