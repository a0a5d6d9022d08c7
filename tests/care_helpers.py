"""What the care tests share: the Anhui 2018 policy, a visit draft, recording as a staff member."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask

from backend.care.models import CareCategory, Frequency
from backend.care.policy_editing import save_rule, save_year
from backend.care.visits import VisitDraft, record_visit
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Member
from backend.staff.models import Staff

YEAR = 2026

# (category, max yuan, frequency, cash allowed): the figures Anhui published in 2018 (issue 11).
ANHUI_2018 = [
    (CareCategory.festival, 1500, Frequency.per_event, False, "节日慰问品，不得发放现金、购物卡"),
    (CareCategory.birthday, 300, Frequency.per_year, False, "生日蛋糕或慰问品"),
    (CareCategory.marriage, 600, Frequency.once, True, "结婚慰问"),
    (CareCategory.childbirth, 600, Frequency.per_event, True, "生育慰问"),
    (CareCategory.hospitalization, 1000, Frequency.per_event, True, "住院慰问"),
    (CareCategory.bereavement, 2000, Frequency.per_event, True, "本人 2000 元，直系亲属 1000 元"),
    (CareCategory.retirement, 1000, Frequency.once, False, "退休慰问品"),
]


def set_policy(
    year: int = YEAR, *, festival_cap_yuan: int | None = 1500, budgets: dict[Any, int] | None = None
) -> None:
    """Inside an app context and a unit of work."""
    budgets = budgets or {}
    for category, top, frequency, cash, standard in ANHUI_2018:
        save_rule(
            year,
            category,
            staff=None,
            standard=standard,
            max_amount_fen=top * 100,
            frequency=frequency,
            cash_allowed=cash,
            relatives="配偶、父母、子女" if category == CareCategory.bereavement else "",
            budget_fen=budgets[category] * 100 if category in budgets else None,
        )
    save_year(
        year,
        festival_cap_fen=festival_cap_yuan * 100 if festival_cap_yuan else None,
        warn_percent=80,
        staff=None,
    )


def policy(app: Flask, **kwargs: Any) -> None:
    with app.app_context(), unit_of_work():
        set_policy(**kwargs)


def draft(
    member_id: int, category: CareCategory = CareCategory.birthday, *, yuan: int = 200, **kw: Any
) -> VisitDraft:
    values: dict[str, Any] = {
        "member": db.session.get(Member, member_id),
        "category": category,
        "visited_on": date(YEAR, 6, 1),
        "visitors": "李华、王强",
        "gift": "生日蛋糕",
        "amount_fen": yuan * 100,
        "is_cash": False,
        "event_on": date(YEAR, 5, 30),  # the life event (required by the per-event categories)
    }
    values.update(kw)
    return VisitDraft(**values)


def visit(
    app: Flask,
    staff_id: int,
    member_id: int,
    category: CareCategory = CareCategory.birthday,
    *,
    override: str = "",
    yuan: int = 200,
    **kw: Any,
) -> int:
    with app.app_context(), unit_of_work():
        staff = db.session.get(Staff, staff_id)
        return record_visit(
            draft(member_id, category, yuan=yuan, **kw), staff=staff, override_reason=override
        ).id
