"""The hardship part of /me/export and DELETE /me (backend/members/privacy.py calls these).

On account deletion: drafts and withdrawn applications are erased with their attachments; one still
being handled is withdrawn first (its 公示 taken down) and erased too. Decided applications (approved,
disbursed, rejected), their payments and the household file are the union's case and financial records:
they stay with the roster entry, which the union keeps (the account is only the WeChat link), for the
retention period the README states.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.db import to_local
from backend.extensions import db
from backend.hardship.applicant import withdraw_application
from backend.hardship.files import member_file
from backend.hardship.models import DECIDED_STATUSES, HardshipApplication, Status
from backend.members.models import Member
from backend.uploads.operations import delete_upload


def _time(value: Any) -> str | None:
    local = to_local(value)
    return local.isoformat() if local is not None else None


def export_hardship(member: Member) -> dict[str, Any]:
    applications = db.session.scalars(
        sa.select(HardshipApplication)
        .where(HardshipApplication.member_id == member.id)
        .order_by(HardshipApplication.id)
    )
    file = member_file(member.id)
    return {
        "hardship_applications": [
            {
                "id": a.id,
                "category": a.category.value,
                "status": a.status.value,
                "reason": a.reason,
                "household_size": a.figure("household_size"),
                "household_income_fen": a.figure("household_income_fen"),
                "hardship_expenses_fen": a.figure("hardship_expenses_fen"),
                "requested_amount_fen": a.figure("requested_amount_fen"),
                "tier": a.tier.value if a.tier else None,
                "tier_override": a.tier_override.value if a.tier_override else None,
                "tier_override_reason": a.tier_override_reason,
                "granted_amount_fen": a.granted_amount_fen,
                "disbursed_fen": a.disbursed_fen,
                "consent_version": a.consent_version,
                "sensitive_data_consent_at": _time(a.sensitive_data_consent_at),
                "income_check_consent_at": _time(a.income_check_consent_at),
                "attachments": [u.id for u in a.attachments],
                "timeline": [
                    {
                        "at": _time(e.at),
                        "action": e.action,
                        "from": e.from_status,
                        "to": e.to_status,
                        "comment": e.comment,
                    }
                    for e in a.events
                ],
                "payments": [
                    {"amount_fen": p.amount_fen, "paid_on": p.paid_on.isoformat(), "method": p.method.value}
                    for p in a.payments
                ],
                "created_at": _time(a.created_at),
            }
            for a in applications
        ],
        "hardship_file": {
            "tier": file.tier.value,
            "status": file.status.value,
            "opened_on": file.opened_on.isoformat(),
            "review_due_on": file.review_due_on.isoformat(),
            "closed_on": file.closed_on.isoformat() if file.closed_on else None,
            "reviews": [
                {
                    "reviewed_on": r.reviewed_on.isoformat(),
                    "outcome": r.outcome.value,
                    "tier_before": r.tier_before.value,
                    "tier_after": r.tier_after.value,
                    "closing_reason": r.closing_reason.value if r.closing_reason else None,
                    "reason": r.reason,
                }
                for r in file.reviews
            ],
        }
        if file is not None
        else None,
    }


def erase_for_deleted_account(member: Member) -> int:
    """Erases what the module docstring says; returns how many applications went."""
    applications = db.session.scalars(
        sa.select(HardshipApplication).where(
            HardshipApplication.member_id == member.id, HardshipApplication.status.not_in(DECIDED_STATUSES)
        )
    ).all()
    for application in applications:
        if application.status not in (Status.draft, Status.withdrawn):
            withdraw_application(application.id, member, notify=False)
        for upload in list(application.attachments):
            application.attachments.remove(upload)
            delete_upload(upload)
        db.session.delete(application)
    db.session.flush()
    return len(applications)
