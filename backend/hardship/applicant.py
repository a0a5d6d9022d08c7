"""What the applicant does: create and edit a draft (or a returned application), submit, withdraw.

Members never set a status, tier or amount granted: these functions take none. Consent to processing
sensitive data and to the income check are recorded separately, with the consent text's version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.db import utcnow
from backend.errors import NotFound, ValidationFailed
from backend.extensions import db
from backend.hardship.consent import require_current
from backend.hardship.limits import (
    AMOUNT_MAX_FEN,
    FIGURE_MAX_FEN,
    HOUSEHOLD_MAX,
    MAX_ATTACHMENTS,
    REASON_MAX,
)
from backend.hardship.models import (
    OPEN_STATUSES,
    Category,
    HardshipApplication,
    Status,
)
from backend.hardship.timeline import (
    OpenApplicationExists,
    add_event,
    lock_application,
    require_state,
    take_down_notice,
    tell_applicant,
)
from backend.hardship.workflow import Action
from backend.members.models import Member
from backend.uploads.operations import attach_uploads

FIGURES = ("household_size", "household_income_fen", "hardship_expenses_fen", "requested_amount_fen")
FIGURE_LIMITS = {
    "household_size": HOUSEHOLD_MAX,
    "household_income_fen": FIGURE_MAX_FEN,
    "hardship_expenses_fen": FIGURE_MAX_FEN,
    "requested_amount_fen": AMOUNT_MAX_FEN,
}
REQUIRED = {
    "reason": "请写明申请原因",
    "household_size": "请填写家庭人口数",
    "household_income_fen": "请填写家庭近 12 个月总收入",
    "hardship_expenses_fen": "请填写困难支出（没有请填 0）",
    "requested_amount_fen": "请填写申请金额",
}


def own_application(application_id: int, member: Member, *, lock: bool = False) -> HardshipApplication:
    """The member's own application; anyone else's is 404 like a missing one."""
    application = (
        lock_application(application_id) if lock else db.session.get(HardshipApplication, application_id)
    )
    if application is None or application.member_id != member.id:
        raise NotFound()
    return application


def _open_application(member: Member) -> HardshipApplication | None:
    return db.session.scalar(
        sa.select(HardshipApplication).where(
            HardshipApplication.member_id == member.id, HardshipApplication.status.in_(OPEN_STATUSES)
        )
    )


def _set_fields(application: HardshipApplication, member: Member, fields: dict[str, Any]) -> None:
    if "category" in fields and fields["category"] is not None:
        application.category = Category(fields["category"])
    if "reason" in fields:
        reason = (fields["reason"] or "").strip()
        if len(reason) > REASON_MAX:
            raise ValidationFailed(errors={"reason": [f"申请原因不能超过 {REASON_MAX} 个字"]})
        application.reason = reason or None
    for name in FIGURES:
        if name in fields:
            value = fields[name]
            if value is not None and not 0 <= int(value) <= FIGURE_LIMITS[name]:
                raise ValidationFailed(errors={name: [f"不能超过 {FIGURE_LIMITS[name]}"]})
            setattr(application, name, str(int(value)) if value is not None else None)
    if "attachment_ids" in fields and fields["attachment_ids"] is not None:
        _set_attachments(application, member, fields["attachment_ids"])
    consent = fields.get("consent")
    if consent:
        require_current(consent.get("version"))
        now = utcnow()
        application.consent_version = str(consent.get("version") or "")[:32] or None
        application.sensitive_data_consent_at = now if consent.get("sensitive_data") else None
        application.income_check_consent_at = now if consent.get("income_check") else None


def _set_attachments(application: HardshipApplication, member: Member, upload_ids: Sequence[int]) -> None:
    """The member's own uploads, not attached to anything else (those already on this one may stay)."""
    wanted = list(dict.fromkeys(upload_ids))
    if len(wanted) > MAX_ATTACHMENTS:
        raise ValidationFailed(errors={"attachment_ids": [f"最多 {MAX_ATTACHMENTS} 个附件"]})
    current = {upload.id: upload for upload in application.attachments}
    new = [upload_id for upload_id in wanted if upload_id not in current]
    attached = attach_uploads(new, member=member) if new else []
    by_id = {**current, **{upload.id: upload for upload in attached}}
    application.attachments = [by_id[upload_id] for upload_id in wanted]


def create_application(member: Member, fields: dict[str, Any]) -> HardshipApplication:
    """A draft. One open application per member (the partial unique index holds it under concurrency)."""
    if _open_application(member) is not None:
        raise OpenApplicationExists()
    application = HardshipApplication(member=member, group_id=member.group_id, status=Status.draft)
    application.category = Category(fields.get("category") or Category.living)
    try:
        with db.session.begin_nested():
            db.session.add(application)
            db.session.flush()
    except IntegrityError as exc:
        raise OpenApplicationExists() from exc
    _set_fields(application, member, fields)
    add_event(application, "create", from_status=None, by_applicant=True)
    db.session.flush()
    return application


def update_application(application_id: int, member: Member, fields: dict[str, Any]) -> HardshipApplication:
    application = own_application(application_id, member, lock=True)
    require_state(application, Action.edit)
    _set_fields(application, member, fields)
    application.group_id = member.group_id
    db.session.flush()
    return application


def missing_for_submission(application: HardshipApplication) -> dict[str, list[str]]:
    errors = {name: [text] for name, text in REQUIRED.items() if getattr(application, name) in (None, "")}
    size = application.figure("household_size")
    if size is not None and size < 1:
        errors["household_size"] = ["家庭人口数至少为 1"]
    requested = application.figure("requested_amount_fen")
    if requested is not None and requested < 1:
        errors["requested_amount_fen"] = ["申请金额须大于零"]
    if not application.consent_version:
        errors["consent.version"] = ["请阅读并同意告知书"]
    if application.sensitive_data_consent_at is None:
        errors["consent.sensitive_data"] = ["请同意工会处理您的敏感个人信息（健康、收入、家庭情况）"]
    if application.income_check_consent_at is None:
        errors["consent.income_check"] = ["请同意工会核对您的家庭经济状况"]
    return errors


def submit_application(application_id: int, member: Member) -> HardshipApplication:
    application = own_application(application_id, member, lock=True)
    require_state(application, Action.submit)
    errors = missing_for_submission(application)
    if errors:
        raise ValidationFailed("申请还没有填写完整，或还没有同意告知书", errors=errors)
    require_current(application.consent_version)  # the text may have changed since they agreed
    before = application.status
    application.status = Status.submitted
    application.submitted_at = utcnow()
    application.group_id = member.group_id
    event = add_event(application, Action.submit, from_status=before, by_applicant=True)
    tell_applicant(
        application, event, "困难帮扶申请已提交", "您的困难帮扶申请已提交，工会将尽快审核，请留意消息。"
    )
    return application


def withdraw_application(application_id: int, member: Member, *, notify: bool = True) -> HardshipApplication:
    """Before a decision. A 公示 still showing is taken down (withdrawn by the staff member who posted it)."""
    application = own_application(application_id, member, lock=True)
    require_state(application, Action.withdraw)
    before = application.status
    application.status = Status.withdrawn
    event = add_event(application, Action.withdraw, from_status=before, by_applicant=True)
    take_down_notice(application)
    if notify:
        tell_applicant(
            application, event, "困难帮扶申请已撤回", "您已撤回困难帮扶申请。如有需要，可以重新申请。"
        )
    return application


def member_applications(member: Member) -> sa.Select[tuple[HardshipApplication]]:
    return (
        sa.select(HardshipApplication)
        .where(HardshipApplication.member_id == member.id)
        .order_by(HardshipApplication.id.desc())
    )
