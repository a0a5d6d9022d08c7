"""工作台's "today": the day ends at midnight in Asia/Shanghai, whatever the hour in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.announcements.today import announcements_today
from backend.extensions import db
from backend.staff.models import Staff
from tests.factories import make_announcement

# 23:50 on 1 December in Shanghai is 15:50 UTC: "today" ends ten minutes later.
LATE_EVENING = datetime(2026, 12, 1, 15, 50, tzinfo=UTC)


def _titles(app, staff_id, now):
    with app.app_context():
        today = announcements_today(db.session.get(Staff, staff_id), now=now)
        return [a.title for a in today.publishing_today]


def test_a_time_before_local_midnight_is_today_and_one_after_is_not(app, union, officer_a):
    for title, minutes in (("午夜前", 9), ("午夜后", 11)):
        make_announcement(
            app,
            officer_a,
            group_ids=[union.group_a],
            title=title,
            publish_at=LATE_EVENING + timedelta(minutes=minutes),
            now=LATE_EVENING,
        )
    assert _titles(app, officer_a, LATE_EVENING) == ["午夜前"]
    # Ten past midnight in Shanghai (still 1 December in UTC): the second is today's now.
    assert _titles(app, officer_a, LATE_EVENING + timedelta(minutes=20)) == ["午夜前", "午夜后"]
