"""A live server over real HTTP (werkzeug, threaded, in this process; gunicorn's worker processes are
tests/gunicorn_server.py) and many bound members at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from backend.activities.models import Activity, Registration, RegistrationStatus
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.members.auth import issue_token
from backend.members.models import BindingProof, Group, WechatAccount
from backend.members.operations import create_member


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def members_with_tokens(app: Flask, group_id: int, count: int, prefix: str = "L") -> list[tuple[int, str]]:
    """`count` active members, each with a bound WeChat account and a bearer token: (member id, token)."""
    out = []
    with app.app_context(), unit_of_work():
        group = db.session.get(Group, group_id)
        for i in range(count):
            member = create_member(
                staff=None, group=group, name=f"并发{prefix}{i}", employee_no=f"{prefix}{i:05d}", phone=None
            )
            account = WechatAccount(
                openid=f"openid-{prefix}{i}",
                member=member,
                bound_at=utcnow(),
                binding_proof=BindingProof.phone,
            )
            db.session.add(account)
            db.session.flush()
            out.append((member.id, issue_token(account, ttl=timedelta(hours=1)).token))
    return out


def invariants(app: Flask, activity_id: int) -> dict[str, object]:
    with app.app_context():
        activity = db.session.get(Activity, activity_id)
        rows = db.session.execute(
            sa.select(Registration.status, Registration.companions, Registration.waitlist_position).where(
                Registration.activity_id == activity_id
            )
        ).all()
        registered = [r for r in rows if r.status == RegistrationStatus.registered]
        return {
            "capacity": activity.capacity,
            "seats_taken": activity.seats_taken,
            "registered": len(registered),
            "registered_seats": sum(1 + r.companions for r in registered),
            "positions": sorted(
                r.waitlist_position for r in rows if r.status == RegistrationStatus.waitlisted
            ),
        }
