"""The yearly standards (低保, fund, 公示 days, approvals per category) with history, the year's fund,
and the self-test (advice only, nothing stored)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from backend import money
from backend.audit.operations import record
from backend.db import today, utcnow
from backend.errors import PermissionDenied, ValidationFailed
from backend.extensions import db
from backend.hardship.models import (
    CATEGORY_LABELS,
    Category,
    HardshipApplication,
    HardshipFund,
    HardshipStandard,
    Status,
    Tier,
)
from backend.hardship.timeline import StandardMissing, locked
from backend.staff.models import Staff
from backend.staff.permissions import Permission


def current_standard(year: int) -> HardshipStandard | None:
    return db.session.scalar(
        sa.select(HardshipStandard).where(
            HardshipStandard.year == year, HardshipStandard.superseded_at.is_(None)
        )
    )


def standard_in_force(on: date | None = None) -> HardshipStandard:
    """This year's standard, or else the latest earlier year's (the union has not set the new one yet)."""
    year = (on or today()).year
    standard = db.session.scalar(
        sa.select(HardshipStandard)
        .where(HardshipStandard.year <= year, HardshipStandard.superseded_at.is_(None))
        .order_by(HardshipStandard.year.desc())
        .limit(1)
    )
    if standard is None:
        raise StandardMissing()
    return standard


def standard_history(year: int) -> list[HardshipStandard]:
    return list(
        db.session.scalars(
            sa.select(HardshipStandard)
            .where(HardshipStandard.year == year)
            .order_by(HardshipStandard.id.desc())
        )
    )


def fund_row(year: int, *, lock: bool = False) -> HardshipFund:
    """The year's fund row (made on first use); locked FOR UPDATE when asked, for a final approval."""
    query = sa.select(HardshipFund).where(HardshipFund.year == year)
    fund = db.session.scalar(locked(query) if lock else query)
    if fund is None:
        _insert_fund(year)
        fund = db.session.scalar((locked(query) if lock else query).execution_options(populate_existing=True))
    elif lock:
        db.session.refresh(fund)
    return fund


def _insert_fund(year: int) -> None:
    """INSERT … ON CONFLICT DO NOTHING: two first uses at once make one row."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(HardshipFund).values(year=year).on_conflict_do_nothing())


def save_standard(
    *,
    staff: Staff,
    year: int,
    dibao_monthly_fen: int,
    fund_total_fen: int,
    category_funds: dict[str, int] | None = None,
    publicity_days: int = 5,
    yearly_limit: int = 1,
) -> HardshipStandard:
    """A new version of the year's standard; the previous one stays, marked superseded."""
    if not staff.can(Permission.manage_hardship_standards):
        raise PermissionDenied()
    errors: dict[str, list[str]] = {}
    if not 2000 <= year <= 2100:
        errors["year"] = ["年份有误"]
    if dibao_monthly_fen <= 0:
        errors["dibao_monthly_fen"] = ["低保标准须大于零"]
    if fund_total_fen < 0:
        errors["fund_total_fen"] = ["资金总额不能为负"]
    funds = {k: int(v) for k, v in (category_funds or {}).items() if v is not None}
    if (
        any(k not in CATEGORY_LABELS or v < 0 for k, v in funds.items())
        or sum(funds.values()) > fund_total_fen
    ):
        errors["category_funds"] = ["分类别资金须为非负数，合计不超过总额"]
    if not 1 <= publicity_days <= 60:
        errors["publicity_days"] = ["公示天数须在 1 到 60 天之间"]
    if not 1 <= yearly_limit <= 12:
        errors["yearly_limit"] = ["每年批准次数须在 1 到 12 次之间"]
    if errors:
        raise ValidationFailed(errors=errors)
    fund_row(year, lock=True)  # one change of a year's standard at a time, and never mid-approval
    previous = current_standard(year)
    now = utcnow()
    if previous is not None:
        previous.superseded_at = now
        db.session.flush()
    standard = HardshipStandard(
        year=year,
        dibao_monthly_fen=dibao_monthly_fen,
        fund_total_fen=fund_total_fen,
        category_funds=funds,
        publicity_days=publicity_days,
        yearly_limit=yearly_limit,
        created_by_id=staff.id,
        created_at=now,
    )
    db.session.add(standard)
    db.session.flush()
    record(
        "hardship.standard",
        staff=staff,
        target=standard,
        year=year,
        dibao_monthly_fen=dibao_monthly_fen,
        fund_total_fen=fund_total_fen,
    )
    return standard


def granted_in(year: int, category: Category | None = None) -> int:
    query = sa.select(sa.func.coalesce(sa.func.sum(HardshipApplication.granted_amount_fen), 0)).where(
        HardshipApplication.decision_year == year,
        HardshipApplication.status.in_([Status.approved, Status.disbursed]),
    )
    if category is not None:
        query = query.where(HardshipApplication.category == category)
    return int(db.session.scalar(query) or 0)


@dataclass(frozen=True)
class SelfTest:
    per_capita_monthly_fen: int
    dibao_monthly_fen: int
    tier: Tier
    explanation: str


def yuan(fen: int) -> str:
    return f"{money.yuan(fen)} 元"


def classify(
    *,
    household_size: int,
    household_income_fen: int,
    hardship_expenses_fen: int,
    sudden_event: bool,
    dibao: int,
) -> tuple[int, Tier]:
    """(income − hardship expenses) / 12 / household size, rounded down to the fen, and the tier."""
    per_capita = (household_income_fen - hardship_expenses_fen) // (12 * household_size)
    if per_capita <= dibao:
        return per_capita, Tier.deep
    if per_capita <= 2 * dibao:
        return per_capita, Tier.relative
    if sudden_event or hardship_expenses_fen * 5 > household_income_fen * 4:
        return per_capita, Tier.sudden
    return per_capita, Tier.none


EXPLANATIONS = {
    Tier.deep: "低于或等于当地低保标准，可能属于深度困难职工。",
    Tier.relative: "高于低保标准、但不超过低保标准的 2 倍，可能属于相对困难职工。",
    Tier.sudden: (
        "高于低保标准的 2 倍，但您遇到了突发事件或困难支出超过家庭收入的八成，可能属于意外致困职工。"
    ),
    Tier.none: "高于低保标准的 2 倍，按目前填写的情况一般不属于困难职工；如家庭情况有变化，可以再测一次。",
}


def self_test(
    *, household_size: int, household_income_fen: int, hardship_expenses_fen: int, sudden_event: bool
) -> SelfTest:
    dibao = standard_in_force().dibao_monthly_fen
    per_capita, tier = classify(
        household_size=household_size,
        household_income_fen=household_income_fen,
        hardship_expenses_fen=hardship_expenses_fen,
        sudden_event=sudden_event,
        dibao=dibao,
    )
    explanation = (
        f"您家近 12 个月收入 {yuan(household_income_fen)}，"
        f"减去看病、上学等困难支出 {yuan(hardship_expenses_fen)}，"
        f"按 {household_size} 口人、12 个月平均，每人每月约 {yuan(per_capita)}。"
        f"当地低保标准是每人每月 {yuan(dibao)}，您家人均收入{EXPLANATIONS[tier]}"
        "这只是自测参考，是否认定以工会审核为准。"
    )
    return SelfTest(per_capita, dibao, tier, explanation)
