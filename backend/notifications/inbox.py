"""The inbox's read marks: one message, or all of an account's inbox (members' and the account's own)."""

from __future__ import annotations

import sqlalchemy as sa

from backend.db import utcnow
from backend.errors import NotFound
from backend.extensions import db
from backend.members.models import WechatAccount
from backend.notifications.models import Notification
from backend.notifications.queries import inbox_of

__all__ = ["mark_all_read", "mark_read", "own_notification"]


def own_notification(notification_id: int, *, account: WechatAccount) -> Notification:
    """A message of the account's inbox, or NotFound (also when it is someone else's)."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or not _in_inbox(notification, account):
        raise NotFound("消息不存在或已被删除")
    return notification


def mark_read(notification: Notification, *, account: WechatAccount) -> Notification:
    """Marks one message read (the first read time is kept)."""
    if not _in_inbox(notification, account):
        raise NotFound("消息不存在或已被删除")
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification


def mark_all_read(account: WechatAccount) -> int:
    """Marks every unread message of the account's inbox read; returns how many."""
    result = db.session.execute(
        sa.update(Notification)
        .where(inbox_of(account), Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    return result.rowcount or 0


def _in_inbox(notification: Notification, account: WechatAccount) -> bool:
    if notification.wechat_account_id is not None:
        return notification.wechat_account_id == account.id
    return account.member_id is not None and notification.member_id == account.member_id
