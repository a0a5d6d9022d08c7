"""Staff set the policy table each year (from their province's rules); every change keeps a history row."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.audit.operations import record
from backend.care.models import (
    FREQUENCY_LABELS,
    CareCategory,
    CarePolicyChange,
    CarePolicyRule,
    Frequency,
)
from backend.care.policy import ensure_year, rules_for
from backend.errors import PermissionDenied, ValidationFailed
from backend.extensions import db
from backend.money import yuan
from backend.staff.models import Staff
from backend.staff.permissions import Permission

RULE_FIELDS = ("standard", "max_amount_fen", "frequency", "cash_allowed", "relatives", "budget_fen")


def may_edit_policy(staff: Staff) -> bool:
    """The policy binds the whole union: set by whoever holds it all (the chair or the admin)."""
    return staff.can(Permission.manage_care_policy) and staff.holds_whole_union


def require_policy_editor(staff: Staff) -> None:
    if not may_edit_policy(staff):
        raise PermissionDenied("关怀标准由全会范围的工会主席或系统管理员设置")


def _snapshot(rule: CarePolicyRule) -> dict[str, Any]:
    values = {name: getattr(rule, name) for name in RULE_FIELDS}
    values["frequency"] = Frequency(values["frequency"]).value
    return values


def save_rule(year: int, category: CareCategory, *, staff: Staff | None, **values: Any) -> CarePolicyRule:
    if staff is not None:
        require_policy_editor(staff)
    errors = {}
    if values["max_amount_fen"] < 0:
        errors["max_amount"] = ["金额不能为负数"]
    if (values.get("budget_fen") or 0) < 0:
        errors["budget"] = ["金额不能为负数"]
    if errors:
        raise ValidationFailed(errors=errors)
    ensure_year(year)
    rule = rules_for(year).get(category)
    before = _snapshot(rule) if rule is not None else None
    if rule is None:
        rule = CarePolicyRule(year=year, category=category)
        db.session.add(rule)
    for name in RULE_FIELDS:
        setattr(rule, name, values.get(name, getattr(rule, name)))
    rule.frequency = Frequency(rule.frequency)
    db.session.flush()
    after = _snapshot(rule)
    if before != after:
        _history(year, category.value, before, after, staff)
    return rule


def save_year(year: int, *, festival_cap_fen: int | None, warn_percent: int, staff: Staff | None) -> None:
    if staff is not None:
        require_policy_editor(staff)
    if not 1 <= warn_percent <= 100:
        raise ValidationFailed(errors={"warn_percent": ["提醒比例应在 1 到 100 之间"]})
    if festival_cap_fen is not None and festival_cap_fen < 0:
        raise ValidationFailed(errors={"festival_cap": ["节日慰问每人每年上限不能为负数"]})
    settings = ensure_year(year)
    before = {"festival_cap_fen": settings.festival_cap_fen, "warn_percent": settings.festival_warn_percent}
    settings.festival_cap_fen = festival_cap_fen
    settings.festival_warn_percent = warn_percent
    after = {"festival_cap_fen": festival_cap_fen, "warn_percent": warn_percent}
    if before != after:
        _history(year, "", before, after, staff)


def _history(year: int, category: str, before: Any, after: Any, staff: Staff | None) -> None:
    db.session.add(
        CarePolicyChange(
            year=year,
            category=category,
            before=before,
            after=after,
            changed_by_id=staff.id if staff else None,
        )
    )
    if staff is not None:
        record("care.policy_update", staff=staff, year=year, category=category or "year", values=after)


def policy_history(year: int) -> list[CarePolicyChange]:
    query = (
        sa.select(CarePolicyChange)
        .where(CarePolicyChange.year == year)
        .order_by(CarePolicyChange.id.desc())
        .limit(200)
    )
    return list(db.session.scalars(query))


def copy_year(source: int, target: int, *, staff: Staff) -> int:
    """Start a year from the previous one's table (staff then adjust what changed)."""
    require_policy_editor(staff)
    rules = rules_for(source)
    for category, rule in rules.items():
        save_rule(target, category, staff=staff, **_snapshot(rule))
    return len(rules)


CHANGE_LABELS = {
    "standard": "标准",
    "max_amount_fen": "最高金额",
    "frequency": "频次",
    "cash_allowed": "现金",
    "relatives": "计入亲属",
    "budget_fen": "年度预算",
    "festival_cap_fen": "节日慰问每人每年上限",
    "warn_percent": "提醒比例",
}


def change_text(change: CarePolicyChange) -> str:
    """A history row's new values as staff read them (amounts in yuan, codes as words)."""
    parts = []
    for key, value in (change.after or {}).items():
        if value is None or value == "":
            text = "—"
        elif key.endswith("_fen"):
            text = f"¥{yuan(value)}"
        elif isinstance(value, bool):
            text = "可以" if value else "不可"
        elif key == "frequency":
            text = FREQUENCY_LABELS.get(value, value)
        elif key == "warn_percent":
            text = f"{value}%"
        else:
            text = str(value)
        parts.append(f"{CHANGE_LABELS.get(key, key)}：{text}")
    return "；".join(parts)
