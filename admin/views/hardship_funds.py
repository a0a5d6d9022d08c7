"""困难帮扶: the year's fund with what is left, the standards per year (with history), the household files
due for review and their review, and the ledger export (chair and admin; audited)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import render_template, request, send_file, url_for

from admin.blueprint import bp, current_staff, permission_required, post_action
from admin.views.hardship import REFUSALS, refusal_text, yuan_to_fen
from backend.db import unit_of_work
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.hardship.files import file_for_staff, files_due, review_file, view_file
from backend.hardship.ledger import export_ledger
from backend.hardship.limits import COMMENT_MAX
from backend.hardship.models import CATEGORY_LABELS, CLOSING_LABELS, TIER_LABELS, ClosingReason, Tier
from backend.hardship.queries import fund_figures
from backend.hardship.standards import save_standard, standard_history, today
from backend.members.queries import group_display_path
from backend.staff.permissions import Permission

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _year() -> int:
    year = request.args.get("year", type=int) or today().year
    return year if 2000 <= year <= 2100 else today().year


@bp.get("/hardship/fund")
@permission_required(Permission.review_hardship)
def hardship_fund() -> Any:
    year = _year()
    return render_template(
        "admin/hardship/fund.html",
        year=year,
        fund=fund_figures(year),
        history=standard_history(year),
        categories=CATEGORY_LABELS,
        can_edit=current_staff().can(Permission.manage_hardship_standards),
        can_export=current_staff().can(Permission.export_hardship_ledger),
    )


def _whole(name: str, low: int, high: int) -> int:
    value = request.form.get(name, type=int)
    if value is None or not low <= value <= high:
        raise ValidationFailed(f"请填写 {low} 到 {high} 之间的整数", errors={name: ["数值有误"]})
    return value


def _save_standard() -> Any:
    form = request.form
    return save_standard(
        staff=current_staff(),
        year=_whole("year", 2000, 2100),
        dibao_monthly_fen=yuan_to_fen(form.get("dibao"), "dibao"),
        fund_total_fen=yuan_to_fen(form.get("fund_total"), "fund_total"),
        category_funds={
            c: yuan_to_fen(form.get(f"fund_{c}")) for c in CATEGORY_LABELS if form.get(f"fund_{c}")
        },
        publicity_days=_whole("publicity_days", 1, 60),
        yearly_limit=_whole("yearly_limit", 1, 12),
    )


@bp.post("/hardship/standards")
@permission_required(Permission.manage_hardship_standards)
def hardship_standard_save() -> Any:
    year = request.form.get("year", type=int) or today().year
    return post_action(
        _save_standard,
        success="已保存新的帮扶标准（原标准保留在历史中）",
        redirect_to=url_for("admin.hardship_fund", year=year if 2000 <= year <= 2100 else None),
        refused=refusal_text,
        errors=REFUSALS,
    )


def _file_review_context() -> dict[str, Any]:
    """What the due list and a file's page both need for the review form."""
    return {
        "tiers": {k: v for k, v in TIER_LABELS.items() if k != "none"},
        "reasons": CLOSING_LABELS,
        "display_path": group_display_path,
        "today": today(),
        "comment_max": COMMENT_MAX,
    }


@bp.get("/hardship/files")
@permission_required(Permission.review_hardship)
def hardship_files() -> Any:
    files = db.session.scalars(files_due(current_staff(), today())).all()
    return render_template(
        "admin/hardship/files.html",
        files=files,
        **_file_review_context(),
    )


@bp.get("/hardship/files/<int:file_id>")
@permission_required(Permission.review_hardship)
def hardship_file(file_id: int) -> Any:
    with unit_of_work():
        file = view_file(file_id, current_staff())
    return render_template(
        "admin/hardship/file.html",
        f=file,
        tier_labels=TIER_LABELS,
        **_file_review_context(),
    )


def _review(file_id: int) -> Any:
    form, staff = request.form, current_staff()
    tier = form.get("tier")
    reason = form.get("reason")
    return review_file(
        file_for_staff(file_id, staff),
        staff=staff,
        today=today(),
        outcome=form.get("outcome", ""),
        tier=Tier(tier) if tier in TIER_LABELS else None,
        reason=ClosingReason(reason) if reason in CLOSING_LABELS else None,
        comment=form.get("comment", ""),
    )


@bp.post("/hardship/files/<int:file_id>/review")
@permission_required(Permission.review_hardship)
def hardship_file_review(file_id: int) -> Any:
    return post_action(
        lambda: _review(file_id),
        success="已保存复核结果",
        redirect_to=url_for("admin.hardship_file", file_id=file_id),
        refused=refusal_text,
        errors=REFUSALS,
    )


@bp.get("/hardship/ledger.xlsx")
@permission_required(Permission.export_hardship_ledger)
def hardship_ledger() -> Any:
    year = _year()
    with unit_of_work():
        data = export_ledger(current_staff(), year)
    return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=f"帮扶台账-{year}.xlsx")
