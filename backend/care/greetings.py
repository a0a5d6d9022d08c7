"""The birthday greeting: on a member's birthday the union's greeting reaches their inbox (and WeChat, when
they have a care credit), once per year: the ledger's dedupe key `care:birthday:<member>:<year>`."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from backend.care.due import birthday_clause, birthdays_on
from backend.db import today as local_today
from backend.db import utcnow
from backend.extensions import db
from backend.members.models import Member, MemberStatus
from backend.notifications.models import Notification
from backend.notifications.operations import notify

TITLE = "生日快乐"
BODY = "祝您生日快乐，工作顺利，身体健康！——您的工会"


def send_birthday_greetings(today: date | None = None) -> int:
    """Greets today's birthdays; the number of greetings written now (a rerun writes none)."""
    today = today or local_today()
    members = db.session.scalars(
        sa.select(Member).where(
            Member.status == MemberStatus.active,
            Member.birthday.is_not(None),
            birthday_clause(birthdays_on(today)),
        )
    ).all()
    keys = {member.id: f"care:birthday:{member.id}:{today.year}" for member in members}
    sent = set(
        db.session.scalars(
            sa.select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys.values()))
        )
    )
    written = 0
    for member in members:
        if keys[member.id] in sent:
            continue
        notify(
            member,
            kind="care",
            title=TITLE,
            body=BODY,
            link=None,
            dedupe_key=keys[member.id],
            data={"status": "生日祝福", "note": BODY, "updated_at": utcnow()},
        )
        written += 1
    return written
