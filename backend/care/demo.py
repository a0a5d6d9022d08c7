"""Demo data for care (`flask seed-demo`): the policy table filled with the figures Anhui published in
2018, as an example of what a union sets each year from its province's rules."""

from __future__ import annotations

from backend.care.models import CareCategory, Frequency
from backend.care.policy_editing import save_rule, save_year

# category → (highest amount in yuan, frequency, cash allowed, standard, relatives, yearly budget in yuan)
ANHUI_2018: dict[CareCategory, tuple[int, Frequency, bool, str, str, int | None]] = {
    CareCategory.festival: (
        1500,
        Frequency.per_event,
        False,
        "节日慰问品；每人每年合计不超过 1500 元，不得发放现金、购物卡",
        "",
        200000,
    ),
    CareCategory.birthday: (300, Frequency.per_year, False, "生日蛋糕或慰问品，每人每年一次", "", 20000),
    CareCategory.marriage: (600, Frequency.once, True, "会员结婚慰问", "", None),
    CareCategory.childbirth: (600, Frequency.per_event, True, "会员生育慰问", "", None),
    CareCategory.hospitalization: (1000, Frequency.per_event, True, "会员生病住院慰问", "", 30000),
    CareCategory.bereavement: (
        2000,
        Frequency.per_event,
        True,
        "会员去世 2000 元；直系亲属去世 1000 元",
        "配偶、父母、子女",
        None,
    ),
    CareCategory.retirement: (1000, Frequency.once, False, "会员退休慰问品", "", None),
}


def seed_care_policy(year: int) -> None:
    for category, (top, frequency, cash, standard, relatives, budget) in ANHUI_2018.items():
        save_rule(
            year,
            category,
            staff=None,
            standard=standard,
            max_amount_fen=top * 100,
            frequency=frequency,
            cash_allowed=cash,
            relatives=relatives,
            budget_fen=budget * 100 if budget else None,
        )
    save_year(year, festival_cap_fen=150000, warn_percent=80, staff=None)
