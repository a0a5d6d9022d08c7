"""A member's uploads that no form has used yet may not add up to more than UPLOAD_MEMBER_PENDING_BYTES."""

from __future__ import annotations

import pytest

from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Member
from backend.staff.models import Role
from backend.uploads.models import Upload
from backend.uploads.operations import UploadQuotaExceeded, attach_uploads
from tests.concurrency import WAIT, Held, Runner, backend_pid, someone_waits_for
from tests.conftest import requires_postgres
from tests.factories import PDF, add_upload, count, make_member, make_staff, make_upload, stored_files


@pytest.fixture
def two_files(app, monkeypatch):
    """Room for two of the test PDFs, not three."""
    monkeypatch.setitem(app.config, "UPLOAD_MEMBER_PENDING_BYTES", 2 * len(PDF) + len(PDF) // 2)


def test_the_upload_that_would_pass_the_limit_is_refused_and_leaves_nothing(
    app, union, upload_dir, two_files
):
    member_id = make_member(app, union.group_a)
    make_upload(app, member_id)
    make_upload(app, member_id)
    with pytest.raises(UploadQuotaExceeded) as refused:
        make_upload(app, member_id)
    assert refused.value.status == 429 and refused.value.code == "upload_quota_exceeded"
    assert count(app, Upload) == 2 and len(stored_files(upload_dir)) == 2


def test_what_a_form_attached_no_longer_counts(app, union, upload_dir, two_files):
    member_id = make_member(app, union.group_a)
    first, second = make_upload(app, member_id), make_upload(app, member_id)
    with app.app_context(), unit_of_work():
        attach_uploads([first, second], member=db.session.get(Member, member_id))
    make_upload(app, member_id)
    make_upload(app, member_id)
    make_upload(app, member_id, attach=True)  # attached at once, for a record saved with it
    assert count(app, Upload) == 5


def test_each_member_has_their_own_room_and_staff_files_do_not_count(app, union, upload_dir, two_files):
    member_id, other_id = make_member(app, union.group_a), make_member(app, union.group_b)
    staff_id = make_staff(app, Role.officer, union.root)
    for _ in range(2):
        make_upload(app, member_id)
    make_upload(app, other_id)
    with app.app_context(), unit_of_work():
        for _ in range(3):
            add_upload(staff_id=staff_id, name="公告附件.pdf", attach=True)
    assert count(app, Upload) == 6


@requires_postgres
def test_two_uploads_at_once_cannot_both_take_the_last_room(app, union, upload_dir, two_files):
    member_id = make_member(app, union.group_a)
    make_upload(app, member_id)  # room for one more
    first = Held(app, lambda: (add_upload(member_id), backend_pid()))
    first.start()
    assert first.done.wait(WAIT)
    second = Runner(app, lambda: add_upload(member_id))
    try:
        second.start()
        # The second waits on the member's row until the first commits, then counts its file too.
        waited = someone_waits_for(app, first.result[1])
    finally:
        first.release.set()
        first.join(WAIT)
        second.join(WAIT)
    assert first.error is None, first.error
    assert waited, "the second upload did not wait for the first"
    assert isinstance(second.error, UploadQuotaExceeded), second.error
    assert count(app, Upload) == 2 and len(stored_files(upload_dir)) == 2


@pytest.mark.parametrize("setting", [0, ""])
def test_a_quota_left_empty_or_zero_means_no_cap_not_no_uploads(app, union, upload_dir, monkeypatch, setting):
    monkeypatch.setitem(app.config, "UPLOAD_MEMBER_PENDING_BYTES", setting)
    member_id = make_member(app, union.group_a)
    for _ in range(3):
        make_upload(app, member_id)
    assert count(app, Upload) == 3
