"""The app the sign-up rush benchmark serves with gunicorn: the product's own app, plus one endpoint of
the bench's own (never in the product) that does one indexed read and one insert: the baseline.

    gunicorn -c gunicorn.conf.py bench.signup_rush_app:app
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import jsonify, request

from backend import create_app
from backend.db import unit_of_work, utcnow
from backend.extensions import csrf, db
from backend.members.auth import hash_token
from backend.members.models import ApiToken

app = create_app()
BASELINE = sa.table("bench_baseline", sa.column("account_id"), sa.column("created_at"))


@app.post("/bench/baseline")
@csrf.exempt
def baseline() -> Any:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    digest = hash_token(token)
    with unit_of_work() as session:
        account_id = session.scalar(
            sa.select(ApiToken.wechat_account_id).where(ApiToken.token_hash == digest)
        )
        session.execute(
            sa.insert(BASELINE).values(account_id=account_id, created_at=utcnow().replace(tzinfo=None))
        )
    return jsonify({"account_id": account_id}), 201


__all__ = ["app", "db"]
