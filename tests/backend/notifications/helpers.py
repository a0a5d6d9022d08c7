"""What only the notification tests read: one ledger row, the emulator's subscribe-send calls.

Sending notices and granting credits is in tests/factories.py (the API and callback tests use it too).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from backend.extensions import db
from backend.notifications.models import Notification


def row(app: Flask, notification_id: int) -> Notification:
    with app.app_context():
        obj = db.session.get(Notification, notification_id)
        db.session.expunge(obj)
        return obj


def subscribe_calls(emu: Any) -> int:
    return emu.stats()["calls"].get("cgi-bin/message/subscribe/send", 0)
