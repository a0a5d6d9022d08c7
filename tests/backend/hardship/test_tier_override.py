"""Staff override of the tier the declared figures give: an officer or chair in scope, with a written
reason; audited, a timeline row, shown on the application page, and what the final approval records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.errors import NotFound, PermissionDenied, ValidationFailed
from backend.extensions import db
from backend.hardship import review
from backend.hardship.limits import COMMENT_MAX
from backend.hardship.models import HardshipApplication, HardshipEvent, HardshipFile, Status, Tier
from backend.hardship.tiering import override_tier
from backend.notifications.models import Notification
from backend.staff.models import Staff
from tests.admin.conftest import html, post
from tests.backend.hardship.helpers import Cast
from tests.factories import count, get, staff_login

REASON = "丈夫上月突发脑梗，收入中断"


def _override(cast: Cast, application_id: int, role: str, tier: str | None = "sudden", reason: str = REASON):
    return cast.run(
        lambda: override_tier(application_id, staff=cast.staff(getattr(cast, role)), tier=tier, reason=reason)
    )


def test_an_officer_overrides_with_a_reason_and_the_final_approval_records_it(app, union):
    cast = Cast(app, union)
    application_id = cast.submitted()  # the declared figures give "deep"
    _override(cast, application_id, "officer")
    with app.app_context():
        application = db.session.get(HardshipApplication, application_id)
        assert application.tier_override == Tier.sudden and application.tier_override_by_id == cast.officer
        assert application.tier_override_reason == REASON and application.tier is None
        raw = db.session.scalar(
            sa.text("SELECT tier_override_reason FROM hardship_applications WHERE id = :id"),
            {"id": application_id},
        )
        assert REASON not in raw  # encrypted at rest
        event = db.session.scalars(
            sa.select(HardshipEvent).where(HardshipEvent.action == "override_tier")
        ).one()
        assert event.staff_id == cast.officer and "意外致困" in event.comment and REASON not in event.comment
        row = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "hardship.override_tier")).one()
        assert row.object_id == application_id and REASON not in str(row.detail)
        # the applicant is told, without the reason (messages are not encrypted and may go to WeChat)
        told = db.session.scalars(sa.select(Notification).where(Notification.title == "困难类型已调整")).one()
        assert told.member_id == cast.member and "意外致困" in told.body and REASON not in told.body
    _advance_to_approved(cast, application_id)
    with app.app_context():
        assert db.session.get(HardshipApplication, application_id).tier == Tier.sudden
        file = db.session.scalar(sa.select(HardshipFile).where(HardshipFile.member_id == cast.member))
        assert file.tier == Tier.sudden


def _advance_to_approved(cast: Cast, application_id: int) -> None:
    cast.run(lambda: review.first_approve(application_id, staff=cast.staff(cast.officer)))
    cast.run(lambda: review.start_publicity(application_id, staff=cast.staff(cast.officer)))
    cast.run(lambda: review.end_publicity_due(datetime.now(UTC) + timedelta(days=30)))
    cast.run(lambda: review.final_approve(application_id, staff=cast.staff(cast.chair), amount_fen=1000))


def test_without_an_override_the_figures_decide(app, union):
    cast = Cast(app, union)
    application_id = cast.to(Status.approved)
    with app.app_context():
        assert db.session.get(HardshipApplication, application_id).tier == Tier.deep


@pytest.mark.parametrize(
    ("tier", "reason", "field"),
    [
        ("sudden", "   ", "comment"),
        ("sudden", "理" * (COMMENT_MAX + 1), "comment"),
        ("none", REASON, "tier"),
        (None, REASON, "tier"),
        ("x", REASON, "tier"),
    ],
)
def test_a_reason_and_a_real_tier_are_required(app, union, tier, reason, field):
    cast = Cast(app, union)
    application_id = cast.submitted()
    with pytest.raises(ValidationFailed) as refused:
        _override(cast, application_id, "officer", tier=tier, reason=reason)
    assert field in refused.value.errors
    assert count(app, HardshipEvent, HardshipEvent.action == "override_tier") == 0


def test_only_reviewers_in_scope_and_never_on_their_own(app, union):
    cast = Cast(app, union)
    application_id = cast.submitted()
    with pytest.raises(NotFound):
        _override(cast, application_id, "outsider")
    with pytest.raises(PermissionDenied):
        _override(cast, application_id, "leader")
    cast.run(lambda: setattr(db.session.get(Staff, cast.chair), "member_id", cast.member))
    with pytest.raises(PermissionDenied) as refused:
        _override(cast, application_id, "chair")
    assert refused.value.code == "own_application"
    _override(cast, application_id, "chair2")


def test_the_application_page_shows_it_and_takes_it(app, union):
    cast = Cast(app, union)
    application_id = cast.submitted()
    officer = app.test_client()
    assert staff_login(officer, get(app, Staff, cast.officer).username).status_code == 302
    page = html(officer.get(f"/admin/hardship/{application_id}"))
    assert "按申报数据计算为「深度困难」" in page and "调整困难类型" in page
    post(officer, f"/admin/hardship/{application_id}/override_tier", {"tier": "relative", "comment": ""})
    assert get(app, HardshipApplication, application_id).tier_override is None  # no reason: refused
    post(officer, f"/admin/hardship/{application_id}/override_tier", {"tier": "relative", "comment": REASON})
    page = html(officer.get(f"/admin/hardship/{application_id}"))
    assert "人工调整类型" in page and REASON in page and "困难类型调整为「相对困难」" in page
