"""Disbursement: payments against a grant, never more in total than granted (checked under the
application's row lock); the application is `disbursed` once fully paid."""

from __future__ import annotations

from datetime import date

from backend.audit.operations import record
from backend.errors import NotFound, ValidationFailed
from backend.extensions import db
from backend.hardship.models import HardshipPayment, PaymentMethod, Status
from backend.hardship.timeline import (
    Overpayment,
    add_event,
    lock_application,
    require_staff,
    tell_applicant,
)
from backend.hardship.workflow import Action
from backend.money import yuan
from backend.staff.models import Staff


def record_payment(
    application_id: int,
    *,
    staff: Staff,
    amount_fen: int,
    paid_on: date,
    method: PaymentMethod,
    reference: str = "",
) -> HardshipPayment:
    application = lock_application(application_id)
    if application is None:
        raise NotFound()
    require_staff(application, staff, Action.pay)
    if not isinstance(amount_fen, int) or amount_fen < 1:
        raise ValidationFailed(errors={"amount_fen": ["请填写发放金额（大于零）"]})
    granted = application.granted_amount_fen or 0
    if application.disbursed_fen + amount_fen > granted:
        raise Overpayment(
            f"发放合计不能超过批准金额，还可发放 {yuan(granted - application.disbursed_fen)} 元"
        )
    payment = HardshipPayment(
        application_id=application.id,
        amount_fen=amount_fen,
        paid_on=paid_on,
        method=PaymentMethod(method),
        reference=(reference or "").strip()[:100],
        recorded_by_id=staff.id,
    )
    db.session.add(payment)
    application.disbursed_fen = application.disbursed_fen + amount_fen
    before = application.status
    if application.disbursed_fen == granted:
        application.status = Status.disbursed
    event = add_event(
        application, Action.pay, from_status=before, staff=staff, comment=f"发放 {yuan(amount_fen)} 元"
    )
    record(
        "hardship.pay", staff=staff, target=application, amount_fen=amount_fen, method=payment.method.value
    )
    body = f"工会已向您发放困难帮扶金 {yuan(amount_fen)} 元。"
    if application.status == Status.disbursed:
        body += "批准的帮扶金已全部发放。"
    tell_applicant(application, event, "困难帮扶金已发放", body)
    return payment
