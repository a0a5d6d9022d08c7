"""Daily clean-up of what the union keeps only for a while (celery beat at 03:30, or `flask purge-expired`).

- login tokens expired more than ``token_days`` ago;
- uploads that nothing attached within a day (and half-received files);
- ``Idempotency-Key`` answers older than 24 hours;
- subscribe grants and handled WeChat pushes older than their retention (7 days).

Each step is its own transaction, so one failing step does not keep the others from running.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from backend.db import unit_of_work
from backend.idempotency import purge_expired_idempotency_keys
from backend.members.auth import purge_expired_tokens
from backend.notifications.subscriptions import purge_subscription_records
from backend.uploads.operations import purge_unattached_uploads

log = logging.getLogger(__name__)


def purge_expired(*, token_days: int = 30) -> dict[str, int]:
    """Runs every purge; returns how many rows each removed."""
    counts: dict[str, int] = {}
    with unit_of_work():
        counts["tokens"] = purge_expired_tokens(older_than=timedelta(days=token_days))
    with unit_of_work():
        counts["uploads"] = purge_unattached_uploads()
    with unit_of_work():
        counts["idempotency_keys"] = purge_expired_idempotency_keys()
    with unit_of_work():
        records = purge_subscription_records()
    counts["subscription_grants"] = records["grants"]
    counts["wechat_pushes"] = records["pushes"]
    log.info("purged expired records: %s", counts)
    return counts
