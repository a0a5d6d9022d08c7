"""签到 by hand and 标记未到场: operations under the activity's row lock, with their status checks and
the audit written by the operation (not by the admin view)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.activities import operations, signup
from backend.activities.checkin import staff_check_in
from backend.activities.models import Activity, Registration, RegistrationStatus
from backend.audit.models import AuditLog
from backend.db import unit_of_work, utcnow
from backend.errors import InvalidState, NotFound
from backend.extensions import db
from backend.members.models import Member
from backend.staff.models import Role, Staff
from tests.concurrency import WAIT, Held, Runner, backend_pid, someone_waits_for
from tests.conftest import requires_postgres
from tests.factories import make_activity, make_member, make_staff

S = RegistrationStatus


def _signed_up(app, activity_id, group_id, count=1):
    ids = []
    for _ in range(count):
        member_id = make_member(app, group_id)
        with app.app_context(), unit_of_work():
            registration, _ = signup.register(activity_id, db.session.get(Member, member_id), answers={})
            ids.append(registration.id)
    return ids


def _check_in(app, registration_id, staff_id):
    with app.app_context(), unit_of_work():
        registration = db.session.get(Registration, registration_id)
        return staff_check_in(registration, staff=db.session.get(Staff, staff_id)).status


def _status(app, registration_id):
    with app.app_context():
        return db.session.get(Registration, registration_id).status


def _checkins_audited(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).where(AuditLog.action == "activity.checkin"))


def test_staff_check_in_a_registered_member_once_audited(app, union, root_officer):
    activity_id = make_activity(app, root_officer, capacity=1)
    seated, waiting = _signed_up(app, activity_id, union.group_a, 2)
    assert _check_in(app, seated, root_officer) == S.attended
    assert _checkins_audited(app) == 1
    with pytest.raises(InvalidState, match="只有已报名"):
        _check_in(app, seated, root_officer)  # already attended
    with pytest.raises(InvalidState, match="只有已报名"):
        _check_in(app, waiting, root_officer)
    assert _status(app, waiting) == S.waitlisted and _checkins_audited(app) == 1


def test_staff_check_in_refused_for_a_cancelled_activity_or_out_of_scope(app, union, root_officer):
    activity_id = make_activity(app, root_officer)
    [registration_id] = _signed_up(app, activity_id, union.group_a)
    other_branch = make_staff(app, Role.officer, union.branch_b)
    with pytest.raises(NotFound):
        _check_in(app, registration_id, other_branch)
    with app.app_context(), unit_of_work():
        staff = db.session.get(Staff, root_officer)
        operations.cancel_activity(db.session.get(Activity, activity_id), staff=staff, reason="下雨")
    with pytest.raises(InvalidState, match="已取消"):
        _check_in(app, registration_id, root_officer)
    assert _status(app, registration_id) == S.registered and _checkins_audited(app) == 0


def test_no_shows_are_not_marked_for_a_cancelled_activity(app, union, root_officer):
    activity_id = make_activity(app, root_officer)
    [registration_id] = _signed_up(app, activity_id, union.group_a)
    with app.app_context(), unit_of_work():
        staff, activity = db.session.get(Staff, root_officer), db.session.get(Activity, activity_id)
        operations.cancel_activity(activity, staff=staff, reason="下雨")
    with app.app_context(), unit_of_work(), pytest.raises(InvalidState, match="已发布"):
        staff, activity = db.session.get(Staff, root_officer), db.session.get(Activity, activity_id)
        operations.mark_no_shows(activity, staff=staff, now=utcnow() + timedelta(days=5))
    assert _status(app, registration_id) == S.registered


def _waits_for_the_activity_lock(app, activity_id, work) -> bool:
    holder = Held(app, lambda: (signup.lock_activity(activity_id), backend_pid()))
    holder.start()
    assert holder.done.wait(WAIT) and holder.error is None
    runner = Runner(app, work)
    try:
        runner.start()
        waited = someone_waits_for(app, holder.result[1])
    finally:
        holder.release.set()
        holder.join(WAIT)
        runner.join(WAIT)
    assert runner.error is None, runner.error
    return waited


@requires_postgres
def test_staff_check_in_waits_for_the_activity_lock(app, union, root_officer):
    activity_id = make_activity(app, root_officer)
    [registration_id] = _signed_up(app, activity_id, union.group_a)

    def check_in():
        staff_check_in(
            db.session.get(Registration, registration_id), staff=db.session.get(Staff, root_officer)
        )

    assert _waits_for_the_activity_lock(app, activity_id, check_in), "the check-in did not wait for the lock"
    assert _status(app, registration_id) == S.attended


@requires_postgres
def test_marking_no_shows_waits_for_the_activity_lock(app, union, root_officer):
    activity_id = make_activity(app, root_officer)
    [registration_id] = _signed_up(app, activity_id, union.group_a)

    def no_shows():
        activity = db.session.get(Activity, activity_id)
        staff = db.session.get(Staff, root_officer)
        return operations.mark_no_shows(activity, staff=staff, now=utcnow() + timedelta(days=5))

    assert _waits_for_the_activity_lock(app, activity_id, no_shows), "the no-shows did not wait for the lock"
    assert _status(app, registration_id) == S.no_show
