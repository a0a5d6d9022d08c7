"""The tier of an application: the one its declared figures give against the 低保 standard, unless staff
set another with a written reason (an officer or chair whose scope holds the applicant, while it is being
decided). The override is audited, is a timeline row, and is what the final approval records."""

from __future__ import annotations

from backend.audit.operations import record
from backend.db import utcnow
from backend.errors import NotFound, ValidationFailed
from backend.hardship.limits import COMMENT_MAX
from backend.hardship.models import TIER_LABELS, HardshipApplication, HardshipStandard, Tier
from backend.hardship.standards import classify
from backend.hardship.timeline import add_event, lock_application, require_staff, tell_applicant
from backend.hardship.workflow import Action
from backend.staff.models import Staff

OVERRIDE_TIERS = (Tier.deep, Tier.relative, Tier.sudden)


def computed_tier(application: HardshipApplication, standard: HardshipStandard) -> Tier:
    """The tier the declared figures give (API.md's rule), whatever staff set."""
    return classify(
        household_size=max(application.figure("household_size") or 1, 1),
        household_income_fen=application.figure("household_income_fen") or 0,
        hardship_expenses_fen=application.figure("hardship_expenses_fen") or 0,
        sudden_event=application.category.value == "sudden",
        dibao=standard.dibao_monthly_fen,
    )[1]


def decided_tier(application: HardshipApplication, standard: HardshipStandard) -> Tier:
    """What a final approval records: the staff override if there is one, else the computed tier."""
    return application.tier_override or computed_tier(application, standard)


def override_tier(application_id: int, *, staff: Staff, tier: str | None, reason: str) -> HardshipApplication:
    application = lock_application(application_id)
    if application is None:
        raise NotFound()
    require_staff(application, staff, Action.override_tier)
    errors: dict[str, list[str]] = {}
    if tier not in {t.value for t in OVERRIDE_TIERS}:
        errors["tier"] = ["请选择困难类型"]
    text = (reason or "").strip()
    if not text:
        errors["comment"] = ["请写明调整困难类型的理由"]
    elif len(text) > COMMENT_MAX:
        errors["comment"] = [f"理由不能超过 {COMMENT_MAX} 个字"]
    if errors:
        raise ValidationFailed(errors=errors)
    chosen = Tier(tier)
    application.tier_override = chosen
    application.tier_override_reason = text
    application.tier_override_by_id = staff.id
    application.tier_override_at = utcnow()
    event = add_event(
        application,
        Action.override_tier,
        from_status=application.status,
        staff=staff,
        comment=f"困难类型调整为「{TIER_LABELS[chosen.value]}」",
    )
    record("hardship.override_tier", staff=staff, target=application, tier=chosen.value)
    tell_applicant(
        application,
        event,
        "困难类型已调整",
        # the reason stays on the (encrypted) application: messages are not encrypted and may go to WeChat
        f"工会审核时将您的困难类型认定为「{TIER_LABELS[chosen.value]}」，如有疑问请联系工会。",
    )
    return application
