"""The limits the operations enforce themselves (whatever door a request came through), and the
per-category fund ceiling of a final approval."""

from __future__ import annotations

import pytest

from backend.errors import InvalidState, ValidationFailed
from backend.extensions import db
from backend.hardship import applicant, review
from backend.hardship.limits import AMOUNT_MAX_FEN, FIGURE_MAX_FEN, HOUSEHOLD_MAX, MAX_ATTACHMENTS
from backend.hardship.models import Category, HardshipApplication, Status
from backend.hardship.standards import granted_in, save_standard, today
from backend.members.models import Member
from miniprogram_api.hardship import ApplicationInSchema
from tests.backend.hardship.helpers import Cast
from tests.factories import make_member, make_upload


def test_at_most_max_attachments_per_application(app, union, upload_dir):
    cast = Cast(app, union)
    uploads = [make_upload(app, cast.member) for _ in range(MAX_ATTACHMENTS + 1)]
    application_id = cast.create()
    member = lambda: db.session.get(Member, cast.member)  # noqa: E731
    with pytest.raises(ValidationFailed) as refused:
        cast.run(lambda: applicant.update_application(application_id, member(), {"attachment_ids": uploads}))
    assert f"最多 {MAX_ATTACHMENTS} 个附件" in refused.value.errors["attachment_ids"][0]
    cast.run(
        lambda: applicant.update_application(
            application_id, member(), {"attachment_ids": uploads[:MAX_ATTACHMENTS]}
        )
    )
    with app.app_context():
        assert len(db.session.get(HardshipApplication, application_id).attachments) == MAX_ATTACHMENTS


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("household_size", HOUSEHOLD_MAX + 1),
        ("household_income_fen", FIGURE_MAX_FEN + 1),
        ("hardship_expenses_fen", -1),
        ("requested_amount_fen", AMOUNT_MAX_FEN + 1),
    ],
)
def test_figures_beyond_the_limits_are_refused_by_the_operation(app, union, field, value):
    cast = Cast(app, union)
    with pytest.raises(ValidationFailed) as refused:
        cast.create(**{field: value})
    assert field in refused.value.errors


def test_the_api_schema_uses_the_same_limits():
    fields = ApplicationInSchema().fields
    assert fields["attachment_ids"].validate.max == MAX_ATTACHMENTS
    assert fields["household_size"].validate.max == HOUSEHOLD_MAX
    assert fields["requested_amount_fen"].validate.max == AMOUNT_MAX_FEN


def test_a_final_approval_over_the_categorys_own_ceiling_is_refused(app, union):
    cast = Cast(app, union)  # a total of 100 000 yuan: only the category's ceiling binds below
    cast.run(
        lambda: save_standard(
            staff=cast.staff(cast.admin),
            year=today().year,
            dibao_monthly_fen=100_000,
            fund_total_fen=10_000_000,
            category_funds={"living": 150_000},
        )
    )
    cast.to(Status.approved, amount=100_000)  # living
    second = cast.to("ended", member_id=cast.other_member)  # type: ignore[arg-type]
    with pytest.raises(InvalidState) as refused:
        cast.run(lambda: review.final_approve(second, staff=cast.staff(cast.chair), amount_fen=50_001))
    assert refused.value.code == "fund_exhausted"
    cast.run(lambda: review.final_approve(second, staff=cast.staff(cast.chair), amount_fen=50_000))
    third_member = make_member(app, union.group_a)
    medical = cast.to("ended", member_id=third_member)  # type: ignore[arg-type]
    cast.run(lambda: _category(medical, "medical"))
    cast.run(lambda: review.final_approve(medical, staff=cast.staff(cast.chair), amount_fen=200_000))
    with app.app_context():
        assert granted_in(today().year) == 350_000


def _category(application_id: int, category: str) -> None:
    db.session.get(HardshipApplication, application_id).category = Category(category)
