"""The retention period: decided applications older than HARDSHIP_RETENTION_YEARS are deleted by the daily
job with their timeline, payments and attachments; younger ones, and undecided ones, stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.db import utcnow
from backend.extensions import db
from backend.hardship import review
from backend.hardship.models import (
    HardshipApplication,
    HardshipEvent,
    HardshipFile,
    HardshipPayment,
    Status,
)
from backend.hardship.retention import years_before
from backend.jobs import purge_expired_hardship
from backend.uploads.models import Upload
from backend.uploads.storage import stored_path
from tests.backend.hardship.helpers import Cast, pay
from tests.factories import count, make_member, make_upload


def _decided(cast: Cast, application_id: int, years_ago: float, paid_years_ago: float | None = None) -> None:
    """Decided (and paid, if it was) that many years ago."""

    def work() -> None:
        application = db.session.get(HardshipApplication, application_id)
        application.decided_at = utcnow() - timedelta(days=365.25 * years_ago)
        for payment in application.payments:
            ago = years_ago if paid_years_ago is None else paid_years_ago
            payment.paid_on = (utcnow() - timedelta(days=365.25 * ago)).date()

    cast.run(work)


def test_the_daily_job_deletes_what_passed_the_retention_period(app, union, upload_dir):
    cast = Cast(app, union)
    upload_id = make_upload(app, cast.member)
    with app.app_context():
        storage_name = db.session.get(Upload, upload_id).storage_name
    old = cast.submitted(attachment_ids=[upload_id])
    old = _disbursed(cast, old)
    _decided(cast, old, 31)
    young_member = make_member(app, union.group_a)
    young = cast.to(Status.rejected, member_id=young_member)
    _decided(cast, young, 29)
    open_member = make_member(app, union.group_a)
    still_open = cast.to(Status.submitted, member_id=open_member)

    result = app.test_cli_runner().invoke(args=["run-periodic"])
    assert result.exit_code == 0, result.output
    assert "清理超过保存期限的申请 1 件" in result.output
    with app.app_context():
        remaining = set(db.session.scalars(sa.select(HardshipApplication.id)))
        assert remaining == {young, still_open}
        assert db.session.scalar(sa.select(sa.func.count()).where(HardshipEvent.application_id == old)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).where(HardshipPayment.application_id == old)) == 0
        assert db.session.get(Upload, upload_id) is None
        file = db.session.scalar(sa.select(HardshipFile).where(HardshipFile.member_id == cast.member))
        assert file is not None and file.last_application_id is None
    assert not stored_path_exists(app, storage_name)
    assert count(app, AuditLog, AuditLog.action == "hardship.purge") == 1
    again = app.test_cli_runner().invoke(args=["run-periodic"])
    assert "清理超过保存期限" not in again.output


def test_a_first_level_rejection_is_a_decision_the_period_counts_from(app, union):
    cast = Cast(app, union)
    rejected = cast.to(Status.rejected)
    with app.app_context():
        assert db.session.get(HardshipApplication, rejected).decided_at is not None


def test_the_period_is_configurable(app, union, monkeypatch):
    cast = Cast(app, union)
    rejected = cast.to(Status.rejected)
    _decided(cast, rejected, 6)
    with app.app_context():
        assert purge_expired_hardship() == 0  # 6 years: within the default 30
    monkeypatch.setitem(app.config, "HARDSHIP_RETENTION_YEARS", 5)
    with app.app_context():
        assert purge_expired_hardship() == 1


def test_money_still_owed_and_recent_payments_are_kept(app, union):
    """An approved application not yet paid in full is not ended, however old its decision; a payment
    younger than the period keeps its application (the voucher is kept its 30 years)."""
    cast = Cast(app, union)
    owed = cast.to(Status.approved)
    _decided(cast, owed, 31)
    late_paid = _disbursed(cast, cast.submitted(member_id=make_member(app, union.group_a)))
    _decided(cast, late_paid, 31, paid_years_ago=10)
    with app.app_context():
        assert purge_expired_hardship() == 0
        assert {owed, late_paid} <= set(db.session.scalars(sa.select(HardshipApplication.id)))


def test_years_before_a_29_february():
    leap = datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert years_before(leap, 30) == datetime(1998, 2, 28, 12, tzinfo=UTC)


def stored_path_exists(app, storage_name: str) -> bool:
    with app.app_context():
        return stored_path(storage_name).exists()


def _disbursed(cast: Cast, application_id: int) -> int:
    cast.run(lambda: review.first_approve(application_id, staff=cast.staff(cast.officer)))
    cast.run(lambda: review.start_publicity(application_id, staff=cast.staff(cast.officer)))
    cast.run(lambda: review.end_publicity_due(datetime.now(UTC) + timedelta(days=30)))
    cast.run(lambda: review.final_approve(application_id, staff=cast.staff(cast.chair), amount_fen=100_000))
    cast.run(lambda: pay(cast, application_id, 100_000))
    return application_id
