"""A member's care data in `/me/export`, and what `DELETE /me` does to it (backend/members/privacy.py).

- **Kept:** visits. A visit records money or goods the union paid out (amount, date, who visited, the
  member's receipt time): a financial record the union must keep and show to auditors, so it stays
  with the roster entry. Requests the union acted on (scheduled, visited or closed by staff) are the
  case file of that payment or decision and stay too, with their attachments.
- **Erased:** requests nobody has acted on yet (still "submitted"), with their attachments; the text of
  the member's feedback on visits (the rating stays, as an anonymous figure).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.care.models import CareRequest, CareVisit, RequestStatus
from backend.db import to_local
from backend.extensions import db
from backend.members.models import Member
from backend.uploads.operations import delete_upload


def _time(value: Any) -> str | None:
    local = to_local(value)
    return local.isoformat() if local else None


def export_care(member: Member) -> dict[str, Any]:
    requests = db.session.scalars(
        sa.select(CareRequest).where(CareRequest.member_id == member.id).order_by(CareRequest.id)
    )
    visits = db.session.scalars(
        sa.select(CareVisit).where(CareVisit.member_id == member.id).order_by(CareVisit.id)
    )
    return {
        "requests": [
            {
                "id": r.id,
                "category": r.category.value,
                "description": r.description,
                "occurred_on": r.occurred_on.isoformat(),
                "status": r.status.value,
                "scheduled_on": r.scheduled_on.isoformat() if r.scheduled_on else None,
                "attachments": [u.filename for u in r.attachments],
                "timeline": [{"status": e.status.value, "note": e.note, "at": _time(e.at)} for e in r.events],
                "created_at": _time(r.created_at),
            }
            for r in requests
        ],
        "visits": [
            {
                "id": v.id,
                "category": v.category.value,
                "visited_on": v.visited_on.isoformat(),
                "event_on": v.event_on.isoformat() if v.event_on else None,
                "visitors": v.visitors,
                "gift": v.gift,
                "amount_fen": v.amount_fen,
                "is_cash": v.is_cash,
                "received_at": _time(v.received_at),
                "rating": v.rating,
                "comment": v.comment,
                "comment_held": v.comment_held,
            }
            for v in visits
        ],
    }


def erase_care(member: Member) -> None:
    untouched = db.session.scalars(
        sa.select(CareRequest).where(
            CareRequest.member_id == member.id, CareRequest.status == RequestStatus.submitted
        )
    ).all()
    for request in untouched:
        for upload in list(request.attachments):
            delete_upload(upload)
        db.session.delete(request)
    db.session.execute(sa.update(CareVisit).where(CareVisit.member_id == member.id).values(comment=""))
    db.session.flush()
