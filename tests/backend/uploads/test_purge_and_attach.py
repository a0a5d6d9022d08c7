"""Uploads nothing attached within a day are purged with their files; attaching claims them once."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest

from backend.db import unit_of_work
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.members.models import Member
from backend.uploads.models import Upload
from backend.uploads.operations import attach_uploads, purge_unattached_uploads
from backend.uploads.storage import stored_path
from tests.factories import get, make_member, make_upload, png_bytes, stored_files

T0 = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)


def _store(app, member_id: int, *, at: datetime, attach: bool = False) -> int:
    return make_upload(app, member_id, data=png_bytes(), name="a.png", attach=attach, now=at)


def _purge(app, now: datetime) -> int:
    with app.app_context(), unit_of_work():
        return purge_unattached_uploads(now=now)


def test_purge_removes_unattached_uploads_older_than_a_day_and_their_files(app, union, upload_dir):
    member_id = make_member(app, union.group_a)
    old = _store(app, member_id, at=T0 - timedelta(days=1, minutes=1))
    recent = _store(app, member_id, at=T0 - timedelta(hours=23))
    attached = _store(app, member_id, at=T0 - timedelta(days=30), attach=True)
    old_name = get(app, Upload, old).storage_name

    assert _purge(app, T0) == 1
    assert get(app, Upload, old) is None
    assert get(app, Upload, recent) is not None and get(app, Upload, attached) is not None
    with app.app_context():
        assert not stored_path(old_name).exists()
    assert len(stored_files(upload_dir)) == 2


def test_purge_keeps_the_files_when_its_transaction_rolls_back(app, union, upload_dir):
    member_id = make_member(app, union.group_a)
    _store(app, member_id, at=T0 - timedelta(days=2))
    with app.app_context(), pytest.raises(RuntimeError), unit_of_work():
        assert purge_unattached_uploads(now=T0) == 1
        raise RuntimeError("the purge command failed later")
    assert len(stored_files(upload_dir)) == 1


def test_purge_clears_half_received_files_left_by_a_crashed_process(app, upload_dir):
    (upload_dir / "tmp").mkdir(parents=True, exist_ok=True)
    stale, fresh = upload_dir / "tmp" / "stale.part", upload_dir / "tmp" / "fresh.part"
    stale.write_bytes(b"half a file")
    fresh.write_bytes(b"being received right now")
    two_days_ago = time.time() - 2 * 86400
    os.utime(stale, (two_days_ago, two_days_ago))

    _purge(app, datetime.now(UTC))
    assert stored_files(upload_dir) == [fresh]


def test_attach_takes_the_members_own_unattached_uploads(app, union, upload_dir):
    member_id = make_member(app, union.group_a)
    first, second = _store(app, member_id, at=T0), _store(app, member_id, at=T0)
    with app.app_context(), unit_of_work():
        uploads = attach_uploads([second, first, second], member=db.session.get(Member, member_id), now=T0)
        assert [u.id for u in uploads] == [second, first]
        assert all(u.attached_at == T0 for u in uploads)
    assert _purge(app, T0 + timedelta(days=5)) == 0


@pytest.mark.parametrize("case", ["someone_elses", "already_attached", "purged"])
def test_attach_refuses_anything_else_and_attaches_nothing(app, union, upload_dir, case):
    member_id = make_member(app, union.group_a)
    own = _store(app, member_id, at=T0)
    if case == "someone_elses":
        other = _store(app, make_member(app, union.group_b), at=T0)
    elif case == "already_attached":
        other = _store(app, member_id, at=T0, attach=True)
    else:
        other = _store(app, member_id, at=T0 - timedelta(days=2))
        _purge(app, T0)
    with app.app_context(), pytest.raises(ValidationFailed) as refused, unit_of_work():
        attach_uploads([own, other], member=db.session.get(Member, member_id))
    assert "attachment_ids" in refused.value.errors
    assert get(app, Upload, own).attached_at is None
