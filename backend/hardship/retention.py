"""The retention period (README: decided applications are kept HARDSHIP_RETENTION_YEARS, 30 years by
default, the time 《会计档案管理办法》 keeps accounting vouchers): a daily job then deletes them.

An application decided (approved, disbursed or rejected) longer ago than that is deleted with
everything of it: its timeline, objections, payments, its attachments (rows now, files after the
commit), and the household file's link to it. The count alone is audited (never a value).
Its reference time is the decision (`decided_at`); rows decided before that column was written on every
decision fall back to their last change (`updated_at`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from backend.audit.operations import record
from backend.db import utcnow
from backend.extensions import db
from backend.hardship.files import shift_years
from backend.hardship.models import (
    DECIDED_STATUSES,
    HardshipApplication,
    HardshipEvent,
    HardshipFile,
    HardshipObjection,
    HardshipPayment,
)
from backend.uploads.operations import delete_upload

ENDED_STATUSES = tuple(s for s in DECIDED_STATUSES if s != "approved")  # paid in full, or refused


def retention_years() -> int:
    return int(current_app.config.get("HARDSHIP_RETENTION_YEARS") or 30)


def years_before(moment: datetime, years: int) -> datetime:
    return shift_years(moment, -years)


def purge_expired_applications(now: datetime | None = None, *, limit: int = 200) -> int:
    """Deletes up to `limit` decided applications past the retention period; returns how many went.
    Rows another run is deleting are skipped (SKIP LOCKED), so two runs at once never collide."""
    cutoff = years_before(now or utcnow(), retention_years())
    decided = sa.func.coalesce(HardshipApplication.decided_at, HardshipApplication.updated_at)
    # Ended only: an approved application may still be paid (money owed is not purged), and the period
    # runs from its last payment too (a payment record is kept its full 30 years).
    paid_since = sa.exists().where(
        HardshipPayment.application_id == HardshipApplication.id, HardshipPayment.paid_on >= cutoff.date()
    )
    ids = list(
        db.session.scalars(
            sa.select(HardshipApplication.id)
            .where(HardshipApplication.status.in_(ENDED_STATUSES), decided < cutoff, ~paid_since)
            .order_by(HardshipApplication.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return 0
    for application in db.session.scalars(
        sa.select(HardshipApplication).where(HardshipApplication.id.in_(ids))
    ):
        for upload in list(application.attachments):
            application.attachments.remove(upload)
            delete_upload(upload)
    db.session.execute(
        sa.update(HardshipFile)
        .where(HardshipFile.last_application_id.in_(ids))
        .values(last_application_id=None)
        .execution_options(synchronize_session=False)
    )
    for model in (HardshipEvent, HardshipObjection, HardshipPayment):
        db.session.execute(
            sa.delete(model).where(model.application_id.in_(ids)).execution_options(synchronize_session=False)
        )
    db.session.execute(
        sa.delete(HardshipApplication)
        .where(HardshipApplication.id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    record("hardship.purge", applications=len(ids), retention_years=retention_years())
    return len(ids)
