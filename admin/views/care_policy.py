"""关怀标准 (the yearly policy table with its history), care figures with charts, and the care ledger."""

from __future__ import annotations

from datetime import date, datetime
from io import BytesIO
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for

from admin.blueprint import bp, current_staff, permission_required, post_action, save_form
from admin.charts import scaled_chart, share_chart
from admin.views.care_forms import PolicyRuleForm, PolicyYearForm
from backend.care.figures import Line, by_category, by_group, by_period
from backend.care.ledger import export_ledger
from backend.care.models import CATEGORY_LABELS, CareCategory, Frequency
from backend.care.policy import policy_year, rules_for
from backend.care.policy_editing import (
    change_text,
    copy_year,
    may_edit_policy,
    policy_history,
    save_rule,
    save_year,
)
from backend.db import SHANGHAI, parse_id, unit_of_work
from backend.errors import PermissionDenied
from backend.members.queries import group_for_staff, group_tree
from backend.money import parse_yuan, yuan_input
from backend.staff.permissions import Permission

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _year() -> int:
    this_year = datetime.now(SHANGHAI).year
    year = request.args.get("year", this_year, type=int) or this_year
    return min(max(year, 2000), 2100)


def _editor() -> None:
    if not may_edit_policy(current_staff()):
        abort(403)


@bp.get("/care/policy")
@permission_required(Permission.record_care_visits)
def care_policy() -> Any:
    year = _year()
    return render_template(
        "admin/care/policy.html",
        year=year,
        rules=rules_for(year),
        settings=policy_year(year),
        categories=list(CareCategory),
        labels=CATEGORY_LABELS,
        history=policy_history(year),
        can_edit=may_edit_policy(current_staff()),
        change_text=change_text,
    )


@bp.route("/care/policy/edit", methods=["GET", "POST"])
@permission_required(Permission.manage_care_policy)
def care_policy_edit() -> Any:
    _editor()
    year, category = _year(), request.args.get("category", "")
    if category not in CareCategory.__members__:
        abort(404)
    rule = rules_for(year).get(CareCategory(category))
    form = PolicyRuleForm(obj=rule) if request.method == "GET" and rule else PolicyRuleForm()
    if request.method == "GET" and rule:
        form.max_amount.data, form.budget.data = yuan_input(rule.max_amount_fen), yuan_input(rule.budget_fen)
        form.frequency.data = rule.frequency.value
    result = save_form(form, lambda: _save_rule(year, CareCategory(category), form))
    if result.saved:
        flash("关怀标准已保存，修改记录可在下方查看", "success")
        return redirect(url_for("admin.care_policy", year=year))
    page = render_template(
        "admin/care/policy_form.html", form=form, year=year, label=CATEGORY_LABELS[category]
    )
    return page, result.status


def _save_rule(year: int, category: CareCategory, form: PolicyRuleForm) -> Any:
    return save_rule(
        year,
        category,
        staff=current_staff(),
        standard=form.standard.data or "",
        max_amount_fen=parse_yuan(form.max_amount.data) or 0,
        frequency=Frequency(form.frequency.data),
        cash_allowed=form.cash_allowed.data,
        relatives=form.relatives.data or "",
        budget_fen=parse_yuan(form.budget.data),
    )


@bp.route("/care/policy/year", methods=["GET", "POST"])
@permission_required(Permission.manage_care_policy)
def care_policy_year() -> Any:
    _editor()
    year, settings = _year(), policy_year(_year())
    form = PolicyYearForm()
    if request.method == "GET" and settings is not None:
        form.festival_cap.data = yuan_input(settings.festival_cap_fen)
        form.warn_percent.data = settings.festival_warn_percent
    result = save_form(
        form,
        lambda: save_year(
            year,
            festival_cap_fen=parse_yuan(form.festival_cap.data),
            warn_percent=form.warn_percent.data,
            staff=current_staff(),
        ),
    )
    if result.saved:
        flash("年度设置已保存", "success")
        return redirect(url_for("admin.care_policy", year=year))
    return render_template("admin/care/policy_year.html", form=form, year=year), result.status


@bp.post("/care/policy/copy")
@permission_required(Permission.manage_care_policy)
def care_policy_copy() -> Any:
    year = _year()
    return post_action(
        lambda: copy_year(year - 1, year, staff=current_staff()),
        success=lambda n: (
            f"已从 {year - 1} 年度复制 {n} 类标准" if n else (f"{year - 1} 年度没有标准可复制", "error")
        ),
        redirect_to=url_for("admin.care_policy", year=year),
        errors=(PermissionDenied,),
    )


# --- figures and the ledger -----------------------------------------------------------------------------


def _period() -> tuple[date, date]:
    year = _year()
    try:
        start = date.fromisoformat(request.args.get("start") or f"{year}-01-01")
        end = date.fromisoformat(request.args.get("end") or f"{year}-12-31")
    except ValueError:
        start, end = date(year, 1, 1), date(year, 12, 31)
    start, end = (start, end) if start <= end else (end, start)
    # Within the years _year() allows: the monthly table lists every month of the period.
    return max(start, date(2000, 1, 1)), min(end, date(2100, 12, 31))


def period_label(start: date, end: date) -> str:
    """「2026 年」 for a whole calendar year, else 「2026-03-15 至 2026-05-31 」 (the headings follow it)."""
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return f"{start.year} 年"
    return f"{start} 至 {end} "


def month_charts(months: list[Line]) -> dict[str, Any]:
    """The period's visits and spending by month, as two bar charts (None when it has none)."""
    visits = [(m.label, m.visits, f"{m.visits} 次") for m in months]
    spent = [(m.label, m.spent_fen, f"¥{m.spent_yuan}") for m in months]
    return {
        "visits_chart": scaled_chart(visits, lambda v: f"{v:g}"),
        "spent_chart": scaled_chart(spent, lambda fen: f"¥{fen / 100:,.0f}"),
    }


@bp.get("/care/figures")
@permission_required(Permission.manage_care)
def care_figures() -> Any:
    staff = current_staff()
    start, end = _period()
    group_id = parse_id(request.args.get("group_id"))
    group = group_for_staff(group_id, staff) if group_id else None
    categories = by_category(staff, start, end, group)
    groups = by_group(staff, start, end, group)
    periods = by_period(staff, start, end, group)
    return render_template(
        "admin/care/figures.html",
        start=start,
        end=end,
        period=period_label(start, end),
        group=group or staff.scope,
        tree=group_tree(staff.scope),
        categories=categories,
        groups=groups,
        months=periods.months,
        quarters=periods.quarters,
        **month_charts(periods.months),
        budget_chart=share_chart(
            [(c.label, c.budget_share, f"{round(c.budget_share * 100)}%") for c in categories if c.budget_fen]
        ),
        confirm_chart=share_chart([(g.label, g.confirm_rate, g.confirm_percent) for g in groups if g.visits]),
    )


@bp.get("/care/ledger.xlsx")
@permission_required(Permission.manage_care)
def care_ledger() -> Any:
    start, end = _period()
    with unit_of_work():
        data = export_ledger(current_staff(), start, end)
    response: Response = send_file(
        BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=f"慰问台账-{start}-{end}.xlsx"
    )
    return response
