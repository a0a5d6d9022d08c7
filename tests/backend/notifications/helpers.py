"""Helpers for notification tests: members with WeChat accounts, credits on both sides, reading rows."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from backend.config import DEMO_TEMPLATES
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Member, WechatAccount
from backend.notifications.models import Notification, SubscriptionCredit
from backend.notifications.operations import add_credits, notify

ANNOUNCEMENT_TEMPLATE = DEMO_TEMPLATES["announcement"]["template_id"]


def openid_of(app: Flask, member_id: int) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(WechatAccount.openid).where(WechatAccount.member_id == member_id))


def grant(app: Flask, emu: Any, member_id: int, *, wechat: int = 1, ours: int | None = None) -> None:
    """Announcement-template credits: `wechat` at the emulator, `ours` (default: same) in the ledger."""
    openid = openid_of(app, member_id)
    if wechat:
        emu.post("subscriptions", openid=openid, template_id=ANNOUNCEMENT_TEMPLATE, count=wechat)
    ours = wechat if ours is None else ours
    if ours:
        with app.app_context(), unit_of_work():
            account = db.session.scalar(sa.select(WechatAccount).where(WechatAccount.member_id == member_id))
            add_credits(account, ANNOUNCEMENT_TEMPLATE, ours)


def our_credit(app: Flask, member_id: int) -> int:
    with app.app_context():
        return (
            db.session.scalar(
                sa.select(SubscriptionCredit.count)
                .join(WechatAccount, WechatAccount.id == SubscriptionCredit.wechat_account_id)
                .where(
                    WechatAccount.member_id == member_id,
                    SubscriptionCredit.template_id == ANNOUNCEMENT_TEMPLATE,
                )
            )
            or 0
        )


def send_notice(app: Flask, member_id: int, key: str = "notice:1", **fields: Any) -> int:
    """notify() an announcement in its own unit of work (delivery runs after the commit); the row id."""
    values: dict[str, Any] = {
        "kind": "announcement",
        "title": "关于开展职工运动会的通知",
        "body": "请各分会组织报名",
        "link": "pages/announcements/detail?id=5",
        "dedupe_key": key,
        "data": {"category": "通知"},
    }
    values.update(fields)
    with app.app_context(), unit_of_work():
        notification = notify(db.session.get(Member, member_id), **values)
        notification_id = notification.id
    return notification_id


def row(app: Flask, notification_id: int) -> Notification:
    with app.app_context():
        obj = db.session.get(Notification, notification_id)
        db.session.expunge(obj)
        return obj


def subscribe_calls(emu: Any) -> int:
    return emu.stats()["calls"].get("cgi-bin/message/subscribe/send", 0)
