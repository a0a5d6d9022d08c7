"""Reading the ledger: a member's inbox, how much of it is unread, and an account's subscribe credits.

Reads only: both doors use these (the mini-program's /me and /me/messages), and nothing here writes.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from backend.extensions import db
from backend.members.models import WechatAccount
from backend.notifications.models import Notification, SubscriptionCredit

__all__ = ["credits_for", "inbox", "inbox_of", "unread_count"]


def inbox_of(account: WechatAccount) -> sa.ColumnElement[bool]:
    """The messages an account's inbox holds: those written to its member, and those written to the
    account itself before it had one (a rejected join request)."""
    to_account = Notification.wechat_account_id == account.id
    if account.member_id is None:
        return to_account
    return sa.or_(Notification.member_id == account.member_id, to_account)


def inbox(account: WechatAccount) -> sa.Select[tuple[Notification]]:
    """The account's messages, newest first (the id breaks ties within one fan-out)."""
    newest_first = (Notification.created_at.desc(), Notification.id.desc())
    return sa.select(Notification).where(inbox_of(account)).order_by(*newest_first)


def unread_count(account: WechatAccount) -> int:
    """Unread messages, not counting those whose subject was taken back (a withdrawn announcement):
    they stay in the inbox, marked withdrawn, but there is nothing left in them to read."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(inbox_of(account), Notification.read_at.is_(None), Notification.withdrawn_at.is_(None))
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
