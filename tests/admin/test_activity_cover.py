"""An activity's cover: uploaded with the activity form, served to the activity's audience; a PDF (an
upload may be one) or a member's upload is refused as a cover."""

from __future__ import annotations

from io import BytesIO

import pytest
import sqlalchemy as sa

from backend.activities import operations
from backend.activities.models import Activity
from backend.db import unit_of_work
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.staff.models import Role, Staff
from backend.uploads.models import Upload
from tests.admin.conftest import html, post
from tests.admin.test_activities import _form
from tests.backend.activities.test_guards import _draft
from tests.factories import PDF, auth, bound_member, get, png_bytes


def _send(client, url, data):
    return post(client, url, data, content_type="multipart/form-data")


def test_a_cover_uploaded_with_the_form_is_shown_to_the_audience(
    app, client, emu, union, login_as, upload_dir
):
    login_as(Role.officer, union.branch_a)
    image = png_bytes((8, 6))
    saved = _send(
        client, "/admin/activities/new", _form(groups=[union.group_a], cover=(BytesIO(image), "封面.png"))
    )
    assert saved.status_code == 302, html(saved)[:2000]
    with app.app_context():
        activity = db.session.scalars(sa.select(Activity)).one()
        activity_id, cover_id = activity.id, activity.cover_upload_id
        assert activity.cover.content_type == "image/png" and activity.cover.attached_at is not None
    assert "封面.png" in html(client.get(f"/admin/activities/{activity_id}/edit"))
    post(client, f"/admin/activities/{activity_id}/publish")
    _, ours = bound_member(app, client, emu, union.group_a)
    detail = client.get(f"/api/v1/activities/{activity_id}", headers=auth(ours)).get_json()
    assert detail["cover_url"].endswith(f"/uploads/{cover_id}")
    with client.get(detail["cover_url"], headers=auth(ours)) as served:
        assert served.status_code == 200 and served.data == image and served.mimetype == "image/png"
    _, theirs = bound_member(app, client, emu, union.group_b)
    assert client.get(detail["cover_url"], headers=auth(theirs)).status_code == 404


def test_a_pdf_is_refused_as_a_cover(app, client, union, login_as, upload_dir):
    login_as(Role.officer, union.branch_a)
    refused = _send(
        client, "/admin/activities/new", _form(groups=[union.group_a], cover=(BytesIO(PDF), "封面.pdf"))
    )
    assert refused.status_code == 422 and "JPG 或 PNG" in html(refused)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Upload)) == 0


def test_a_members_upload_is_refused_as_a_cover(app, client, emu, union, root_officer, upload_dir):
    from tests.factories import make_activity

    _, token = bound_member(app, client, emu, union.group_a)
    uploaded = client.post(
        "/api/v1/uploads",
        data={"file": (BytesIO(png_bytes()), "我的照片.png")},
        headers=auth(token),
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201, uploaded.get_json()
    activity_id = make_activity(app, root_officer)
    with app.app_context(), unit_of_work(), pytest.raises(ValidationFailed) as refused:
        activity = db.session.get(Activity, activity_id)
        cover = db.session.get(Upload, uploaded.get_json()["id"])
        operations.save_activity(
            activity, _draft(activity), staff=db.session.get(Staff, root_officer), cover=cover
        )
    assert "cover" in refused.value.errors
    assert get(app, Activity, activity_id).cover_upload_id is None
