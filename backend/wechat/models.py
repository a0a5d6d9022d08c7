"""What the callback remembers of WeChat's pushes: the nonces of the last minutes (see replay.py)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import utcnow
from backend.extensions import db


class PushNonce(db.Model):
    """A push's query signature seen recently, and a digest of the content it came with.

    The database store of replay.py, used when there is no Redis. Keyed by ``signature``, the sha1 that
    WeChat computes over (token, timestamp, nonce): one row per nonce WeChat used, however its timestamp
    and nonce are split. Rows older than the timestamp window are useless and purged daily.
    """

    __tablename__ = "wechat_push_nonces"

    signature: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    digest: Mapped[str] = mapped_column(sa.String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
