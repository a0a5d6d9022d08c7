"""The household file's review history: every review (keep / change tier / close) writes a row with who,
when, the tier before and after and the reason (encrypted); the admin file page shows it; /me/export too."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.hardship.files import review_file
from backend.hardship.models import (
    ClosingReason,
    HardshipFile,
    HardshipFileReview,
    ReviewOutcome,
    Status,
    Tier,
)
from backend.hardship.standards import today
from tests.admin.conftest import html, post
from tests.backend.hardship.helpers import Cast
from tests.factories import Staff, auth, bound_member, count, get, staff_login

SECRET = "女儿已工作，家庭收入明显好转"


def _file_id(app, member_id: int) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(HardshipFile.id).where(HardshipFile.member_id == member_id))


def _review(cast: Cast, file_id: int, **kwargs) -> None:
    cast.run(
        lambda: review_file(
            db.session.get(HardshipFile, file_id), staff=cast.staff(cast.officer), today=today(), **kwargs
        )
    )


def test_every_review_is_kept_with_tiers_and_an_encrypted_reason(app, client, emu, union):
    cast = Cast(app, union)
    cast.member, token = bound_member(app, client, emu, union.group_a)
    cast.to(Status.approved)
    file_id = _file_id(app, cast.member)
    _review(cast, file_id, outcome="keep", comment="情况未变")
    _review(cast, file_id, outcome="keep", tier=Tier.relative, comment="收入有所提高")
    _review(cast, file_id, outcome="close", reason=ClosingReason.escaped, comment=SECRET)
    with app.app_context():
        rows = db.session.scalars(sa.select(HardshipFileReview).order_by(HardshipFileReview.id)).all()
        got = [(r.outcome, r.tier_before, r.tier_after, r.closing_reason, r.staff_id) for r in rows]
        assert got == [
            (ReviewOutcome.keep, Tier.deep, Tier.deep, None, cast.officer),
            (ReviewOutcome.change_tier, Tier.deep, Tier.relative, None, cast.officer),
            (ReviewOutcome.close, Tier.relative, Tier.relative, ClosingReason.escaped, cast.officer),
        ]
        assert rows[0].reviewed_on == today() and rows[0].reviewed_at is not None
        raw = db.session.scalars(sa.text("SELECT reason FROM hardship_file_reviews")).all()
        assert all(value.startswith("gAAAA") for value in raw) and SECRET not in "".join(raw)

    officer = app.test_client()
    assert staff_login(officer, get(app, Staff, cast.officer).username).status_code == 302
    page = html(officer.get(f"/admin/hardship/files/{file_id}"))
    assert (
        SECRET in page and "调整困难类型" in page and "出档（脱困）" in page and "深度困难 → 相对困难" in page
    )
    assert count(app, AuditLog, AuditLog.action == "hardship.view_file", AuditLog.object_id == file_id) == 1
    outsider = app.test_client()
    assert staff_login(outsider, get(app, Staff, cast.outsider).username).status_code == 302
    assert outsider.get(f"/admin/hardship/files/{file_id}").status_code == 404

    exported = client.get("/api/v1/me/export", headers=auth(token)).get_json()
    reviews = exported["hardship_file"]["reviews"]
    assert [r["outcome"] for r in reviews] == ["close", "change_tier", "keep"]  # newest first
    assert reviews[0]["reason"] == SECRET and reviews[1]["tier_after"] == "relative"


def test_the_admin_review_form_writes_a_row_and_returns_to_the_file(app, union):
    cast = Cast(app, union)
    cast.to(Status.approved)
    file_id = _file_id(app, cast.member)
    cast.run(
        lambda: setattr(db.session.get(HardshipFile, file_id), "review_due_on", today() + timedelta(days=3))
    )
    officer = app.test_client()
    assert staff_login(officer, get(app, Staff, cast.officer).username).status_code == 302
    assert f"/admin/hardship/files/{file_id}" in html(officer.get("/admin/hardship/files"))
    answer = post(officer, f"/admin/hardship/files/{file_id}/review", {"outcome": "keep", "tier": "sudden"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(
        f"/admin/hardship/files/{file_id}"
    )
    assert count(app, HardshipFileReview, HardshipFileReview.outcome == ReviewOutcome.change_tier) == 1
    refused = post(
        officer, f"/admin/hardship/files/{file_id}/review", {"outcome": "close", "reason": "escaped"}
    )
    assert refused.status_code == 302 and count(app, HardshipFileReview) == 1  # no reason written: refused
