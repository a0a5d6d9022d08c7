"""`flask draw-activities` with the draw's activity row lock replaced by a plain read: the control of
the draw-once test (test_concurrency.py), run in each of its processes. Never used by the product.

    python -m tests.backend.activities.unlocked_draw
"""

from __future__ import annotations

import sys

from flask.cli import main

from backend.activities import draw
from backend.activities.models import Activity
from backend.extensions import db


def unlocked(activity_id: int) -> Activity | None:
    return db.session.get(Activity, activity_id, populate_existing=True)


if __name__ == "__main__":
    draw.lock_activity = unlocked  # type: ignore[assignment]
    sys.argv = ["flask", "--app", "wsgi", "draw-activities"]
    main()
