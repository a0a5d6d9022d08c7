"""关怀统计 by month and quarter: the chosen period's visits and spending per month (a table and two
charts) and per quarter (a table)."""

from __future__ import annotations

from datetime import date

from admin.charts import scaled_chart
from backend.care.figures import by_period
from backend.care.models import CareCategory
from backend.extensions import db
from backend.members.models import Group
from backend.staff.models import Role, Staff
from tests.admin.conftest import html
from tests.care_helpers import YEAR, policy, visit
from tests.factories import make_member


def test_by_month_counts_each_month_of_the_year_in_scope(app, union, login_as, client):
    policy(app)
    staff = login_as(Role.officer, union.root)
    first, second = make_member(app, union.group_a), make_member(app, union.group_b)
    visit(app, staff, first, visited_on=date(YEAR, 3, 5), yuan=200)
    visit(app, staff, second, visited_on=date(YEAR, 3, 20), yuan=100)
    visit(app, staff, first, visited_on=date(YEAR, 11, 2), yuan=300, override="补送")
    with app.app_context():
        who = db.session.get(Staff, staff)
        months = by_period(who, date(YEAR, 1, 1), date(YEAR, 12, 31)).months
        assert [m.label for m in months][:3] == ["1月", "2月", "3月"] and len(months) == 12
        assert [(m.visits, m.spent_fen) for m in months if m.visits] == [(2, 30000), (1, 30000)]
        assert months[2].label == "3月" and months[10].label == "11月"
        in_b = by_period(
            who, date(YEAR, 1, 1), date(YEAR, 12, 31), db.session.get(Group, union.branch_b)
        ).months
        assert [(m.label, m.visits) for m in in_b if m.visits] == [("3月", 1)]
    page = html(client.get(f"/admin/care/figures?year={YEAR}"))
    assert f"{YEAR} 年按月" in page and f"{YEAR} 年各月慰问次数" in page and f"{YEAR} 年各月慰问金额" in page
    assert "2 次" in page and "¥300.00" in page


def test_a_narrower_period_counts_only_its_own_visits_by_month_and_quarter(app, union, login_as, client):
    policy(app)
    policy(app, year=YEAR + 1)
    staff = login_as(Role.officer, union.root)
    member = make_member(app, union.group_a)
    for day, amount in ((date(YEAR, 3, 5), 200), (date(YEAR, 11, 2), 300), (date(YEAR + 1, 1, 8), 100)):
        visit(app, staff, member, CareCategory.hospitalization, visited_on=day, event_on=day, yuan=amount)
    with app.app_context():
        who = db.session.get(Staff, staff)
        found = by_period(who, date(YEAR, 10, 15), date(YEAR + 1, 2, 10))
        assert [m.label for m in found.months] == [
            f"{YEAR}年10月", f"{YEAR}年11月", f"{YEAR}年12月", f"{YEAR + 1}年1月", f"{YEAR + 1}年2月"
        ]  # fmt: skip
        assert [(m.visits, m.spent_fen) for m in found.months if m.visits] == [(1, 30000), (1, 10000)]
        assert [(q.label, q.visits) for q in found.quarters] == [
            (f"{YEAR}年第4季度", 1),
            (f"{YEAR + 1}年第1季度", 1),
        ]
        # the March visit lies outside the period: not counted, not even in its quarter
        spring = by_period(who, date(YEAR, 3, 10), date(YEAR, 6, 30))
        assert [m.label for m in spring.months] == ["3月", "4月", "5月", "6月"]
        assert [(q.label, q.visits) for q in spring.quarters] == [("第1季度", 0), ("第2季度", 0)]
    page = html(client.get(f"/admin/care/figures?start={YEAR}-10-15&end={YEAR + 1}-02-10"))
    assert (
        f"{YEAR}-10-15 至 {YEAR + 1}-02-10 按月" in page and "按季度" in page and f"{YEAR}年第4季度" in page
    )
    # a silly range is bounded to the years the page knows, never a 500
    bounded = html(client.get("/admin/care/figures?start=0001-01-01&end=9999-12-31"))
    assert "2000-01-01 至 2100-12-31 按月" in bounded


def test_a_year_without_visits_draws_no_month_chart(app, union, login_as, client):
    login_as(Role.officer, union.root)
    page = html(client.get(f"/admin/care/figures?year={YEAR}"))
    assert f"{YEAR} 年还没有已走访的慰问" in page and "各月慰问次数" not in page


def test_scaled_chart_scales_to_the_largest_value_and_labels_its_axis():
    chart = scaled_chart([("1月", 2, "2 次"), ("2月", 0, "0 次"), ("3月", 4, "4 次")], lambda v: f"{v:g}")
    assert [bar.width for bar in chart.bars] == [95.0, 0.0, 190.0]
    assert [label for _, label in chart.ticks] == ["0", "2", "4"]
    assert scaled_chart([("1月", 0, "0 次")], str) is None
