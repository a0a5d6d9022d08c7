"""Daily clean-up of what the union keeps only for a while (celery beat at 03:30, or `flask purge-expired`).

- login tokens expired more than ``token_days`` ago;
- uploads that nothing attached within a day (and half-received files);
- ``Idempotency-Key`` answers older than 24 hours;
- subscribe grants and handled WeChat pushes older than their retention (7 days);
- the signatures of WeChat pushes older than 10 minutes (their timestamps are refused by then);
- roster imports finished more than 90 days ago (the audit log keeps their summary).

Each step is its own transaction, so one failing step does not keep the others from running.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from backend.db import unit_of_work
from backend.idempotency import purge_expired_idempotency_keys
from backend.members.auth import purge_expired_tokens
from backend.members.roster.background import purge_finished_imports
from backend.notifications.subscriptions import purge_subscription_records
from backend.uploads.operations import purge_unattached_uploads
from backend.wechat.replay import purge_push_nonces

log = logging.getLogger(__name__)


def purge_expired(*, token_days: int = 30) -> dict[str, int]:
    """Runs every purge, each in its own transaction; returns how many rows each removed.

    A step that fails is logged and the others still run; the failure is raised at the end, so the
    task or command reports it.
    """
    steps: dict[str, Callable[[], int]] = {
        "tokens": lambda: purge_expired_tokens(older_than=timedelta(days=token_days)),
        "uploads": purge_unattached_uploads,
        "idempotency_keys": purge_expired_idempotency_keys,
        "subscription_records": lambda: sum(purge_subscription_records().values()),
        "push_nonces": purge_push_nonces,
        "roster_imports": purge_finished_imports,
    }
    counts: dict[str, int] = {}
    failed: list[str] = []
    for name, step in steps.items():
        try:
            with unit_of_work():
                counts[name] = step()
        except Exception:
            log.exception("purge step %s failed; the other steps go on", name)
            failed.append(name)
    log.info("purged expired records: %s", counts)
    if failed:
        raise PurgeFailed(failed, counts)
    return counts


class PurgeFailed(RuntimeError):
    def __init__(self, steps: list[str], counts: dict[str, int]) -> None:
        super().__init__(f"purge steps failed: {', '.join(steps)} (done: {counts})")
        self.steps, self.counts = steps, counts
