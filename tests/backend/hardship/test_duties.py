"""Separation of duties, the fund, the yearly limit, payments and the household file's review."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.errors import InvalidState, PermissionDenied, ValidationFailed
from backend.extensions import db
from backend.hardship import review
from backend.hardship.files import files_due, remind_reviews_due, review_file
from backend.hardship.models import ClosingReason, FileStatus, HardshipFile, HardshipStandard, Status, Tier
from backend.hardship.standards import save_standard, today
from backend.members.models import Member
from backend.notifications.models import Notification
from backend.staff.models import Staff
from tests.backend.hardship.helpers import Cast, pay
from tests.factories import count


def _link(cast: Cast, staff_id: int, member_id: int) -> None:
    cast.run(lambda: setattr(db.session.get(Staff, staff_id), "member_id", member_id))


def test_the_first_approver_cannot_give_the_final_decision(app, union):
    cast = Cast(app, union)
    application_id = cast.submitted()
    cast.run(lambda: review.first_approve(application_id, staff=cast.staff(cast.chair)))
    cast.run(lambda: review.start_publicity(application_id, staff=cast.staff(cast.chair)))
    cast.run(lambda: review.end_publicity_due(review.utcnow() + timedelta(days=6)))
    for decide in (
        lambda: review.final_approve(application_id, staff=cast.staff(cast.chair), amount_fen=1000),
        lambda: review.final_reject(application_id, staff=cast.staff(cast.chair), comment="否"),
    ):
        with pytest.raises(PermissionDenied) as refused:
            cast.run(decide)
        assert refused.value.code == "separation_of_duties"
    cast.run(lambda: review.final_approve(application_id, staff=cast.staff(cast.chair2), amount_fen=1000))
    assert cast.status(application_id) == Status.approved


@pytest.mark.parametrize("step", ["return", "first", "reject"])
def test_nobody_decides_on_their_own_application(app, union, step):
    cast = Cast(app, union)
    _link(cast, cast.officer, cast.member)
    application_id = cast.submitted()
    ops = {
        "return": lambda: review.return_application(
            application_id, staff=cast.staff(cast.officer), comment="补"
        ),
        "first": lambda: review.first_approve(application_id, staff=cast.staff(cast.officer)),
        "reject": lambda: review.reject(application_id, staff=cast.staff(cast.officer), comment="否"),
    }
    with pytest.raises(PermissionDenied) as refused:
        cast.run(ops[step])
    assert refused.value.code == "own_application"


def test_a_chair_cannot_finally_approve_their_own_application(app, union):
    cast = Cast(app, union)
    _link(cast, cast.chair, cast.member)
    application_id = cast.to("ended")  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        cast.run(lambda: review.final_approve(application_id, staff=cast.staff(cast.chair), amount_fen=1000))


def test_return_and_reject_need_a_comment(app, union):
    cast = Cast(app, union)
    application_id = cast.submitted()
    for op in (review.return_application, review.reject):
        with pytest.raises(ValidationFailed):
            cast.run(lambda op=op: op(application_id, staff=cast.staff(cast.officer), comment="  "))


def test_the_fund_and_a_category_ceiling_bind(app, union):
    cast = Cast(app, union, fund_fen=150_000)
    first = cast.to(Status.approved, amount=100_000)
    second = cast.to("ended", member_id=cast.other_member)  # type: ignore[arg-type]
    with pytest.raises(InvalidState) as refused:
        cast.run(lambda: review.final_approve(second, staff=cast.staff(cast.chair), amount_fen=50_001))
    assert refused.value.code == "fund_exhausted"
    cast.run(lambda: review.final_approve(second, staff=cast.staff(cast.chair), amount_fen=50_000))
    assert cast.status(first) == cast.status(second) == Status.approved


def test_a_decision_keeps_the_standard_then_in_force(app, union):
    cast = Cast(app, union)
    application_id = cast.to(Status.approved)
    with app.app_context():
        old_id = db.session.get(review.HardshipApplication, application_id).standard_id
    cast.run(
        lambda: save_standard(
            staff=cast.staff(cast.admin), year=today().year, dibao_monthly_fen=120_000, fund_total_fen=10**7
        )
    )
    with app.app_context():
        assert db.session.get(review.HardshipApplication, application_id).standard_id == old_id
        assert db.session.get(HardshipStandard, old_id).superseded_at is not None
    assert count(app, HardshipStandard) == 2


def test_yearly_limit_per_category(app, union):
    cast = Cast(app, union)
    application_id = cast.to(Status.disbursed)
    assert cast.status(application_id) == Status.disbursed
    second = cast.to("ended")  # type: ignore[arg-type]
    with pytest.raises(InvalidState) as refused:
        cast.run(lambda: review.final_approve(second, staff=cast.staff(cast.chair), amount_fen=1000))
    assert refused.value.code == "yearly_limit_reached"


def test_payments_never_exceed_the_grant(app, union):
    cast = Cast(app, union)
    application_id = cast.to(Status.approved, amount=100_000)
    cast.run(lambda: pay(cast, application_id, 60_000))
    with pytest.raises(InvalidState) as refused:
        cast.run(lambda: pay(cast, application_id, 40_001))
    assert refused.value.code == "overpayment"
    assert cast.status(application_id) == Status.approved
    cast.run(lambda: pay(cast, application_id, 40_000))
    assert cast.status(application_id) == Status.disbursed


def test_file_review_keep_change_close_and_reminder(app, union):
    cast = Cast(app, union)
    cast.to(Status.approved)
    day = today()
    with app.app_context():
        file = db.session.query(HardshipFile).one()
        assert file.review_due_on.year == day.year + 1 and file.status == FileStatus.active
        officer = cast.staff(cast.officer)
        assert db.session.scalars(files_due(officer, day)).all() == []
        soon = file.review_due_on - timedelta(days=20)
        assert db.session.scalars(files_due(officer, soon)).all() == [file]
        assert db.session.scalars(files_due(cast.staff(cast.outsider), soon)).all() == []
        db.session.rollback()
    assert cast.run(lambda: remind_reviews_due(soon)) == cast.run(lambda: remind_reviews_due(soon)) == 1
    assert count(app, Notification, Notification.dedupe_key.like("hardship-file-review:%")) == 1
    with app.app_context():
        file = db.session.query(HardshipFile).one()
        officer = cast.staff(cast.officer)
        review_file(file, staff=officer, today=soon, outcome="keep", tier=Tier.relative)
        assert file.tier == Tier.relative and file.review_due_on.year == soon.year + 1
        with pytest.raises(ValidationFailed):
            review_file(file, staff=officer, today=soon, outcome="close", reason=ClosingReason.escaped)
        review_file(
            file, staff=officer, today=soon, outcome="close", reason=ClosingReason.escaped, comment="已就业"
        )
        assert file.status == FileStatus.closed and file.closing_reason == ClosingReason.escaped
        with pytest.raises(PermissionDenied):
            review_file(file, staff=cast.staff(cast.outsider), today=soon, outcome="keep")
        db.session.rollback()


def test_link_staff_member_command_makes_own_applications_refused(app, union):
    cast = Cast(app, union)
    staff = cast.run(
        lambda: (cast.staff(cast.officer).username, db.session.get(Member, cast.member).employee_no)
    )
    result = app.test_cli_runner().invoke(args=["link-staff-member", *staff])
    assert result.exit_code == 0, result.output
    application_id = cast.submitted()
    with pytest.raises(PermissionDenied):
        cast.run(lambda: review.first_approve(application_id, staff=cast.staff(cast.officer)))
    assert app.test_cli_runner().invoke(args=["link-staff-member", "nobody", "X"]).exit_code != 0
