"""Hardship test data, made through the domain's own operations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from backend.db import unit_of_work
from backend.extensions import db
from backend.hardship import applicant, review
from backend.hardship.models import HardshipApplication, Status
from backend.hardship.standards import save_standard, today
from backend.members.models import Member
from backend.staff.models import Role, Staff
from tests.factories import make_member, make_staff

CONSENT = {"version": "2026-1", "sensitive_data": True, "income_check": True}
FIELDS: dict[str, Any] = {
    "category": "living",
    "reason": "妻子患重病住院，孩子上学",
    "household_size": 3,
    "household_income_fen": 3_600_000,
    "hardship_expenses_fen": 1_800_000,
    "requested_amount_fen": 200_000,
    "consent": CONSENT,
}


class Cast:
    """Who acts in a hardship test: an applicant in group A, staff in and out of scope."""

    def __init__(self, app: Flask, union: Any, *, fund_fen: int = 10_000_000) -> None:
        self.app, self.union = app, union
        self.member = make_member(app, union.group_a)
        self.other_member = make_member(app, union.group_a)
        self.officer = make_staff(app, Role.officer, union.branch_a)
        self.officer2 = make_staff(app, Role.officer, union.branch_a)
        self.outsider = make_staff(app, Role.officer, union.branch_b)
        self.chair = make_staff(app, Role.chair, union.root)
        self.chair2 = make_staff(app, Role.chair, union.root)
        self.admin = make_staff(app, Role.admin, union.root)
        self.leader = make_staff(app, Role.group_leader, union.group_a)
        with app.app_context(), unit_of_work():
            save_standard(
                staff=db.session.get(Staff, self.admin),
                year=today().year,
                dibao_monthly_fen=100_000,
                fund_total_fen=fund_fen,
            )

    def staff(self, staff_id: int) -> Staff:
        return db.session.get(Staff, staff_id)

    def run(self, work: Any) -> Any:
        with self.app.app_context(), unit_of_work():
            return work()

    def create(self, member_id: int | None = None, **fields: Any) -> int:
        def work() -> int:
            member = db.session.get(Member, member_id or self.member)
            return applicant.create_application(member, {**FIELDS, **fields}).id

        return self.run(work)

    def submitted(self, member_id: int | None = None, **fields: Any) -> int:
        application_id = self.create(member_id, **fields)
        self.run(
            lambda: applicant.submit_application(
                application_id, db.session.get(Member, member_id or self.member)
            )
        )
        return application_id

    def to(self, status: Status, member_id: int | None = None, amount: int = 100_000) -> int:
        """An application brought to `status` the ordinary way."""
        if status == Status.draft:
            return self.create(member_id)
        application_id = self.submitted(member_id)
        steps = {
            Status.returned: [
                lambda: review.return_application(
                    application_id, staff=self.staff(self.officer), comment="补充病历"
                )
            ],
            Status.rejected: [
                lambda: review.reject(application_id, staff=self.staff(self.officer), comment="不符合条件")
            ],
            Status.withdrawn: [
                lambda: applicant.withdraw_application(
                    application_id, db.session.get(Member, member_id or self.member)
                )
            ],
        }
        path = [Status.first_approved, Status.publicized, "ended", Status.approved, Status.disbursed]
        if status in steps:
            for step in steps[status]:
                self.run(step)
            return application_id
        actions = {
            Status.first_approved: lambda: review.first_approve(
                application_id, staff=self.staff(self.officer)
            ),
            Status.publicized: lambda: review.start_publicity(application_id, staff=self.staff(self.officer)),
            "ended": lambda: review.end_publicity_due(datetime.now(UTC) + timedelta(days=30)),
            Status.approved: lambda: review.final_approve(
                application_id, staff=self.staff(self.chair), amount_fen=amount
            ),
            Status.disbursed: lambda: pay(self, application_id, amount),
        }
        if status == Status.submitted:
            return application_id
        status = status if status != "ended" else "ended"
        for step in path:
            self.run(actions[step])
            if step == status:
                break
        return application_id

    def status(self, application_id: int) -> Status:
        with self.app.app_context():
            return db.session.get(HardshipApplication, application_id).status


def pay(cast: Cast, application_id: int, amount: int) -> Any:
    from backend.hardship.models import PaymentMethod
    from backend.hardship.payments import record_payment

    return record_payment(
        application_id,
        staff=cast.staff(cast.officer),
        amount_fen=amount,
        paid_on=today(),
        method=PaymentMethod.bank_transfer,
    )
