"""Workers share the delivery queue without waiting for each other (PostgreSQL: real row locks).

SQLite runs one writer at a time (BEGIN IMMEDIATE), so there is nothing to stage there: the test skips.
"""

from __future__ import annotations

import sqlalchemy as sa

from backend.db import unit_of_work
from backend.extensions import db
from backend.notifications.claims import DeliverySettings, DrainStats, claim_batch
from backend.notifications.models import DeliveryState, Notification, NotificationKind
from tests.concurrency import WAIT, Held, Runner, backend_pid
from tests.conftest import requires_postgres
from tests.factories import make_member, make_union


def _pending_rows(app, how_many: int) -> list[int]:
    union = make_union(app)
    member_id = make_member(app, union.group_a)
    with app.app_context(), unit_of_work():
        rows = [
            Notification(
                member_id=member_id,
                kind=NotificationKind.announcement,
                title=f"通知{n}",
                body="",
                dedupe_key=f"claim-race:{n}",
                wechat_state=DeliveryState.pending,
            )
            for n in range(how_many)
        ]
        db.session.add_all(rows)
        db.session.flush()
        return [row.id for row in rows]


@requires_postgres
def test_a_claim_skips_rows_another_worker_holds_instead_of_waiting(app):
    held_id, free_id = _pending_rows(app, 2)

    def lock_row() -> int:
        db.session.execute(sa.select(Notification.id).where(Notification.id == held_id).with_for_update())
        return backend_pid()

    holder = Held(app, lock_row)  # another worker, mid-claim of its own batch
    holder.start()
    assert holder.done.wait(WAIT) and holder.error is None, holder.error
    claimer = Runner(app, lambda: claim_batch(DeliverySettings.from_app(), DrainStats()))
    try:
        claimer.start()
        claimer.join(WAIT)
        # Without SKIP LOCKED the claim would block on the held row until the other worker commits.
        assert not claimer.is_alive(), "the claim waited for a row another worker holds"
    finally:
        holder.release.set()
        holder.join(WAIT)
        claimer.join(WAIT)
    assert claimer.error is None, claimer.error
    with app.app_context():
        held, free = (db.session.get(Notification, i) for i in (held_id, free_id))
        # The held row is left to its worker, untouched; the free one was claimed (and finished: the
        # member has no WeChat account).
        assert (held.wechat_state, held.claimed_until) == (DeliveryState.pending, None)
        assert (free.wechat_state, free.last_error_code) == (DeliveryState.skipped, "no_wechat_account")
