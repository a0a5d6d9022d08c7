"""The transition table, exhaustively: every action from every state by every kind of actor. What is
allowed works; everything else is refused with 409 (wrong state), 403 (not theirs to do) or 404
(out of scope, or another member's). Each attempt is rolled back, so one application serves a state.

The expectations are written out here, not read from workflow.py, so a change there must change them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.errors import DomainError
from backend.extensions import db
from backend.hardship import applicant, review
from backend.hardship.models import HardshipApplication, PaymentMethod, Status
from backend.hardship.payments import record_payment
from backend.hardship.queries import may_take
from backend.hardship.standards import today
from backend.hardship.tiering import override_tier
from backend.hardship.workflow import TRANSITIONS, Action
from backend.members.models import Member
from tests.backend.hardship.helpers import Cast

STAFF_ROLES = (
    "officer",
    "officer2",
    "outsider",
    "chair",
    "admin",
    "leader",
)  # officer made the first approval
MEMBER_ROLES = ("applicant", "other_member")
STATES = (
    "draft",
    "submitted",
    "returned",
    "first_approved",
    "publicized_open",
    "publicized_ended",
    "approved",
    "disbursed",
    "rejected",
    "withdrawn",
)
REVIEWERS = {"officer", "officer2", "chair", "admin"}
FINAL = {"chair", "admin"}
# (state, action) → who may take it there. Every pair not listed: nobody.
ALLOWED = {
    ("draft", Action.edit): {"applicant"},
    ("returned", Action.edit): {"applicant"},
    ("draft", Action.submit): {"applicant"},
    ("returned", Action.submit): {"applicant"},
    **{(s, Action.withdraw): {"applicant"} for s in ("draft", "submitted", "returned", "first_approved")},
    ("publicized_open", Action.withdraw): {"applicant"},
    ("publicized_ended", Action.withdraw): {"applicant"},
    ("submitted", Action.return_): REVIEWERS,
    ("submitted", Action.first_approve): REVIEWERS,
    ("submitted", Action.reject): REVIEWERS,
    ("first_approved", Action.start_publicity): {"officer", "chair", "admin"},
    ("publicized_open", Action.record_objection): REVIEWERS,
    ("publicized_ended", Action.final_approve): FINAL,
    ("publicized_ended", Action.final_reject): FINAL,
    ("approved", Action.pay): REVIEWERS,
    **{
        (s, Action.override_tier): REVIEWERS
        for s in ("submitted", "first_approved", "publicized_open", "publicized_ended")
    },
}
NOT_YET_FIRST_APPROVED = {"draft", "submitted", "returned", "rejected", "withdrawn"}
# Staff lacking the permission the action needs (refused 403 before the state is looked at).
PERMITTED = {
    Action.return_: REVIEWERS,
    Action.first_approve: REVIEWERS,
    Action.reject: REVIEWERS,
    Action.start_publicity: {"officer", "chair", "admin"},
    Action.record_objection: REVIEWERS,
    Action.final_approve: FINAL,
    Action.final_reject: FINAL,
    Action.pay: REVIEWERS,
    Action.override_tier: REVIEWERS,
}


def _call(cast: Cast, action: Action, role: str, application_id: int) -> None:
    if role in MEMBER_ROLES:
        member = db.session.get(Member, cast.member if role == "applicant" else cast.other_member)
        member_ops = {
            Action.edit: lambda: applicant.update_application(application_id, member, {"reason": "补充"}),
            Action.submit: lambda: applicant.submit_application(application_id, member),
            Action.withdraw: lambda: applicant.withdraw_application(application_id, member),
        }
        member_ops[action]()
        return
    staff = cast.staff(getattr(cast, role))
    staff_ops = {
        Action.return_: lambda: review.return_application(application_id, staff=staff, comment="请补充"),
        Action.first_approve: lambda: review.first_approve(application_id, staff=staff),
        Action.reject: lambda: review.reject(application_id, staff=staff, comment="不符合"),
        Action.start_publicity: lambda: review.start_publicity(application_id, staff=staff),
        Action.record_objection: lambda: review.record_objection(
            application_id, staff=staff, content="有异议"
        ),
        Action.final_approve: lambda: review.final_approve(application_id, staff=staff, amount_fen=50_000),
        Action.final_reject: lambda: review.final_reject(application_id, staff=staff, comment="不符合"),
        Action.pay: lambda: record_payment(
            application_id, staff=staff, amount_fen=10_000, paid_on=today(), method=PaymentMethod.cash
        ),
        Action.override_tier: lambda: override_tier(
            application_id, staff=staff, tier="relative", reason="家中另有一人长期卧床"
        ),
    }
    staff_ops[action]()


def _attempt(cast: Cast, action: Action, role: str, application_id: int) -> int:
    with cast.app.app_context():
        try:
            _call(cast, action, role, application_id)
            return 200
        except DomainError as error:
            return error.status
        finally:
            db.session.rollback()


def _offered(cast: Cast, action: Action, role: str, application_id: int) -> bool:
    """Whether the admin offers this staff member the action (queries.may_take): it must be exactly
    when the operation lets them take it."""
    with cast.app.app_context():
        application = db.session.get(HardshipApplication, application_id)
        return may_take(cast.staff(getattr(cast, role)), application, action)


def _expected(state: str, action: Action, role: str) -> int:
    if role in ALLOWED.get((state, action), set()):
        return 200
    if role == "other_member":
        return 404
    if role == "applicant":
        return 409
    if role == "outsider":
        return 404
    if role not in PERMITTED[action]:
        return 403
    if action == Action.start_publicity and role == "officer" and state in NOT_YET_FIRST_APPROVED:
        return 403  # only the first approver (or a final approver) starts the 公示: nobody is one yet
    return 409


def _bring(cast: Cast, state: str) -> int:
    if state == "publicized_open":
        return cast.to(Status.publicized)
    if state == "publicized_ended":
        return cast.to("ended")  # type: ignore[arg-type]
    return cast.to(Status(state))


@pytest.mark.parametrize("state", STATES)
def test_every_action_by_every_actor(app, union, state):
    cast = Cast(app, union)
    application_id = _bring(cast, state)
    before = cast.status(application_id)
    failures = []
    for action in Action:
        if action == Action.end_publicity:
            continue  # the system's move: test_end_publicity below
        roles = MEMBER_ROLES if TRANSITIONS[action].actor.value == "applicant" else STAFF_ROLES
        for role in roles:
            got, want = _attempt(cast, action, role, application_id), _expected(state, action, role)
            if got != want:
                failures.append((action.value, role, got, want))
            if role in STAFF_ROLES and _offered(cast, action, role, application_id) != (got == 200):
                failures.append((action.value, role, "may_take disagrees with the operation", got))
    assert not failures, failures
    assert cast.status(application_id) == before  # every attempt was rolled back


def test_end_publicity_only_moves_ended_windows(app, union):
    cast = Cast(app, union)
    open_id = cast.to(Status.publicized)
    with app.app_context():
        assert review.end_publicity_due(datetime.now(UTC)) == []
        assert review.end_publicity_due(datetime.now(UTC) + timedelta(days=6)) == [open_id]
        assert db.session.get(HardshipApplication, open_id).publicity_ended_at is not None
        db.session.rollback()
