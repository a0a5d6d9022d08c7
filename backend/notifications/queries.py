"""Reading the ledger: a member's inbox, how much of it is unread, and an account's subscribe credits.

Reads only: both doors use these (the mini-program's /me and /me/messages), and nothing here writes.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from backend.extensions import db
from backend.members.models import Member, WechatAccount
from backend.notifications.models import Notification, SubscriptionCredit

__all__ = ["credits_for", "inbox", "unread_count"]


def inbox(member: Member | None) -> sa.Select[tuple[Notification]]:
    """The member's messages, newest first (the id breaks ties within one fan-out); none before the
    account is bound to a member, as messages are written to members, not to WeChat accounts."""
    mine = Notification.member_id == member.id if member is not None else sa.false()
    newest_first = (Notification.created_at.desc(), Notification.id.desc())
    return sa.select(Notification).where(mine).order_by(*newest_first)


def unread_count(member: Member) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.member_id == member.id, Notification.read_at.is_(None))
        )
        or 0
    )


def credits_for(account: WechatAccount) -> dict[str, int]:
    """kind → credits the account has, for every configured kind (0 when none)."""
    by_template = dict(
        db.session.execute(
            sa.select(SubscriptionCredit.template_id, SubscriptionCredit.count).where(
                SubscriptionCredit.wechat_account_id == account.id
            )
        ).all()
    )
    templates = current_app.config["WECHAT_TEMPLATES"]
    return {kind: int(by_template.get(spec["template_id"], 0)) for kind, spec in templates.items()}
