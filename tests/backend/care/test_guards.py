"""The care operations' own guards, below the forms and the API schemas: at most 9 attachments to a
request and 9 photos to a visit; no negative amount on a visit, a campaign or the policy."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest

from backend.care.campaigns import create_campaign
from backend.care.models import CareCategory, CareVisit, Frequency
from backend.care.policy_editing import save_rule, save_year
from backend.care.requests import submit_request
from backend.care.visits import record_visit
from backend.db import unit_of_work
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.members.models import Group, Member
from backend.staff.models import Role, Staff
from backend.uploads.models import Upload
from backend.uploads.operations import store_upload
from backend.uploads.storage import staged_uploads
from tests.care_helpers import YEAR, draft, policy
from tests.factories import PDF, count, make_member, make_staff, png_bytes


def _refused(work) -> dict:
    with pytest.raises(ValidationFailed) as caught:
        work()
    return caught.value.errors


def test_a_request_takes_at_most_nine_attachments(app, union, upload_dir):
    member_id = make_member(app, union.group_a)
    files = [(BytesIO(PDF), f"证明{n}.pdf") for n in range(10)]
    with app.app_context(), staged_uploads(files) as staged, unit_of_work():
        member = db.session.get(Member, member_id)
        ids = [store_upload(s, member=member).id for s in staged]
    with app.app_context(), unit_of_work():
        member = db.session.get(Member, member_id)

        def submit(upload_ids):
            return submit_request(
                member=member,
                category=CareCategory.hospitalization,
                description="住院",
                occurred_on=date(YEAR, 5, 1),
                attachment_ids=upload_ids,
            )

        assert _refused(lambda: submit(ids)) == {"attachment_ids": ["最多 9 个附件"]}
        assert len(submit(ids[:9]).attachments) == 9


def test_a_visit_takes_at_most_nine_photos(app, union, upload_dir):
    policy(app)
    staff_id, member_id = make_staff(app, Role.officer, union.root), make_member(app, union.group_a)
    files = [(BytesIO(png_bytes()), f"照片{n}.png") for n in range(10)]
    with app.app_context(), staged_uploads(files) as staged, unit_of_work():
        staff = db.session.get(Staff, staff_id)
        errors = _refused(lambda: record_visit(draft(member_id), staff=staff, photos=staged))
    assert errors == {"photos": ["最多 9 张照片"]}
    assert count(app, CareVisit) == 0 and count(app, Upload) == 0


def test_negative_amounts_are_refused(app, union):
    policy(app)
    staff_id, member_id = make_staff(app, Role.officer, union.root), make_member(app, union.group_a)
    with app.app_context(), unit_of_work():
        staff = db.session.get(Staff, staff_id)
        negative = draft(member_id, yuan=-1)
        assert _refused(lambda: record_visit(negative, staff=staff)) == {"amount": ["金额不能为负数"]}
        campaign = {
            "staff": staff,
            "name": "春节慰问",
            "festival": "春节",
            "visit_on": date(YEAR, 2, 1),
            "gift": "米面油",
            "groups": [db.session.get(Group, union.group_a)],
        }
        assert _refused(lambda: create_campaign(**campaign, amount_fen=-100)) == {
            "amount": ["金额不能为负数"]
        }
        rule = {"standard": "", "frequency": Frequency.per_year, "cash_allowed": False, "relatives": ""}
        for amounts, field in (
            ({"max_amount_fen": -1, "budget_fen": None}, "max_amount"),
            ({"max_amount_fen": 100, "budget_fen": -1}, "budget"),  # shown beside 年度预算, not 最高金额
        ):
            errors = _refused(lambda a=amounts: save_rule(YEAR, CareCategory.other, staff=None, **rule, **a))
            assert errors == {field: ["金额不能为负数"]}
        cap = _refused(lambda: save_year(YEAR, festival_cap_fen=-1, warn_percent=80, staff=None))
        assert cap == {"festival_cap": ["节日慰问每人每年上限不能为负数"]}
