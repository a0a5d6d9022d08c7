"""The union's dates are Beijing dates: from 16:00 UTC on, "today" is already the next day there. A
server whose clock runs in UTC must not write yesterday's date, or refuse today's as "in the future"."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

import pytest

from admin.forms import not_in_future
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Group, MemberStatus
from backend.members.operations import create_member, set_member_status

# 00:30 on 1 January 2100 in Beijing; still 31 December 2099 in UTC. A day later than the machine's own
# date can be, so the server's date.today() never equals it: without the fix these tests fail on any day.
AFTER_LOCAL_MIDNIGHT = datetime(2099, 12, 31, 16, 30, tzinfo=UTC)
LOCAL_DAY = date(2100, 1, 1)


@pytest.fixture
def after_local_midnight(monkeypatch):
    # (sys.modules: the package `backend` exports `db`, the extension, under the module's name)
    monkeypatch.setattr(sys.modules["backend.db"], "utcnow", lambda: AFTER_LOCAL_MIDNIGHT)


def test_a_new_member_joins_and_leaves_on_the_beijing_date(app, union, after_local_midnight):
    with app.app_context(), unit_of_work():
        member = create_member(
            staff=None, group=db.session.get(Group, union.group_a), name="王芳", employee_no="D1", phone=None
        )
        assert member.joined_on == LOCAL_DAY
        set_member_status(member, MemberStatus.left, staff=None)
        assert member.left_on == LOCAL_DAY


def test_the_admin_takes_the_beijing_date_as_today_not_as_the_future(after_local_midnight):
    class Field:
        data = LOCAL_DAY

    not_in_future(None, Field())  # no ValidationError
