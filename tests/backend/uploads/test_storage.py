"""Receiving a file: checked before it is kept, kept under a random name, and nothing left on failure."""

from __future__ import annotations

import hashlib
from io import BytesIO

import pytest
import sqlalchemy as sa

from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Member
from backend.uploads.at_rest import read_plain
from backend.uploads.models import Upload
from backend.uploads.operations import store_upload
from backend.uploads.storage import (
    EmptyUpload,
    UnsupportedUploadType,
    UploadTooLarge,
    human_size,
    staged_upload,
    staged_uploads,
    stored_path,
)
from tests.conftest import ON_POSTGRES
from tests.factories import HTML, PDF, count, make_member, make_upload, png_bytes, stored_files


class DroppedConnection:
    """A phone that loses its connection halfway through sending the file."""

    def __init__(self, data: bytes, fail_after: int) -> None:
        self.data, self.fail_after, self.sent = data, fail_after, 0

    def read(self, size: int = -1) -> bytes:
        if self.sent >= self.fail_after:
            raise OSError("connection reset by peer")
        chunk = self.data[self.sent : self.sent + min(size, self.fail_after - self.sent)]
        self.sent += len(chunk)
        return chunk


def test_a_stored_file_keeps_its_bytes_under_a_random_name(app, union, upload_dir):
    member_id = make_member(app, union.group_a)
    data = png_bytes()
    upload_id = make_upload(app, member_id, data=data, name="我的照片.png")

    with app.app_context():
        upload = db.session.get(Upload, upload_id)
        path = stored_path(upload.storage_name)
        assert data not in path.read_bytes() and read_plain(path) == data  # encrypted at rest
        assert "我的照片" not in str(path) and len(upload.storage_name) == 32
        assert (upload.filename, upload.content_type, upload.size) == ("我的照片.png", "image/png", len(data))
        assert upload.sha256 == hashlib.sha256(data).hexdigest()
        assert upload.member_id == member_id and upload.staff_id is None and upload.attached_at is None
    assert stored_files(upload_dir) == [path]  # nothing left in tmp/


def test_a_png_sent_as_pdf_is_stored_as_png(app, union, upload_dir):
    upload_id = make_upload(app, make_member(app, union.group_a), data=png_bytes(), name="扫描件.pdf")
    with app.app_context():
        upload = db.session.get(Upload, upload_id)
        assert (upload.content_type, upload.filename) == ("image/png", "扫描件.png")


@pytest.mark.parametrize(
    ("data", "error"),
    [(HTML, UnsupportedUploadType), (b"", EmptyUpload), (PDF + b"x" * 2000, UploadTooLarge)],
    ids=["html-as-jpg", "empty", "too-large"],
)
def test_refused_files_leave_nothing_behind(app, union, upload_dir, data, error):
    app.config["UPLOAD_MAX_BYTES"] = 1024
    try:
        with app.app_context(), pytest.raises(error), staged_upload(BytesIO(data), "photo.jpg"):
            pytest.fail("a refused file must not reach the block")
    finally:
        app.config["UPLOAD_MAX_BYTES"] = 10 * 1024 * 1024
    assert stored_files(upload_dir) == []


def test_the_size_limit_stops_reading_at_the_limit(app, upload_dir):
    stream = BytesIO(PDF + b"x" * 10_000_000)
    app.config["UPLOAD_MAX_BYTES"] = 100 * 1024
    try:
        with app.app_context(), pytest.raises(UploadTooLarge, match="100 KB"), staged_upload(stream, "a.pdf"):
            pass
    finally:
        app.config["UPLOAD_MAX_BYTES"] = 10 * 1024 * 1024
    assert stream.tell() < 200_000  # the rest of a huge body is never read into the temp file


def test_a_connection_dropped_mid_file_leaves_no_file_and_no_row(app, union, upload_dir):
    member_id = make_member(app, union.group_a)
    data = PDF + b"x" * 300_000
    with (
        app.app_context(),
        pytest.raises(OSError, match="reset"),
        staged_upload(DroppedConnection(data, 150_000), "合同.pdf") as staged,
        unit_of_work(),
    ):
        store_upload(staged, member=db.session.get(Member, member_id))
    assert stored_files(upload_dir) == []
    assert count(app, Upload) == 0


def test_a_failure_after_the_file_was_placed_removes_it_with_the_row(app, union, upload_dir):
    member_id = make_member(app, union.group_a)
    with (
        app.app_context(),
        pytest.raises(RuntimeError, match="later step"),
        staged_upload(BytesIO(png_bytes()), "a.png") as staged,
        unit_of_work(),
    ):
        store_upload(staged, member=db.session.get(Member, member_id))
        assert staged.placed_path is not None and staged.placed_path.exists()
        raise RuntimeError("a later step of the same request failed")
    assert stored_files(upload_dir) == []
    assert count(app, Upload) == 0


@pytest.mark.parametrize("end", ["rollback", "close"])
def test_a_file_placed_in_a_block_goes_when_the_transaction_ends_later_without_a_commit(
    app, union, upload_dir, end
):
    """An idempotent view's block ends before the decorator commits; the file waits for that commit."""
    member_id = make_member(app, union.group_a)
    with app.app_context():
        with staged_upload(BytesIO(png_bytes()), "a.png") as staged:
            store_upload(staged, member=db.session.get(Member, member_id))
        assert staged.placed_path is not None and staged.placed_path.exists()
        with db.session.begin_nested():
            pass  # a SAVEPOINT released meanwhile is not the commit
        if end == "rollback":
            db.session.rollback()
        else:
            db.session.close()  # what the end of a request does with a transaction left open
    assert stored_files(upload_dir) == []
    assert count(app, Upload) == 0


def test_a_file_placed_in_a_block_stays_when_the_transaction_commits_later(app, union, upload_dir):
    member_id = make_member(app, union.group_a)
    with app.app_context():
        with staged_upload(BytesIO(png_bytes()), "a.png") as staged:
            store_upload(staged, member=db.session.get(Member, member_id))
        with db.session.begin_nested():
            pass
        db.session.commit()
        db.session.rollback()  # a later transaction's rollback does not touch it
    assert stored_files(upload_dir) == [staged.placed_path]
    assert count(app, Upload) == 1


def test_several_files_are_kept_all_or_none(app, upload_dir):
    files = [(BytesIO(png_bytes()), "a.png"), (BytesIO(PDF), "b.pdf"), (BytesIO(HTML), "c.jpg")]
    with app.app_context(), pytest.raises(UnsupportedUploadType), staged_uploads(files):
        pass
    assert stored_files(upload_dir) == []
    assert count(app, Upload) == 0


def _make_commit_fail(connection) -> None:
    """A database that refuses the transaction only at COMMIT (PostgreSQL: a deferred constraint trigger)."""
    connection.execute(
        sa.text(
            "CREATE FUNCTION refuse_upload() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'disk quota exceeded'; END $$"
        )
    )
    connection.execute(
        sa.text(
            "CREATE CONSTRAINT TRIGGER refuse_upload AFTER INSERT ON uploads "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_upload()"
        )
    )


def _drop_commit_failure(connection) -> None:
    connection.execute(sa.text("DROP TRIGGER refuse_upload ON uploads"))
    connection.execute(sa.text("DROP FUNCTION refuse_upload()"))


@pytest.mark.skipif(not ON_POSTGRES, reason="a COMMIT failure is staged with a PostgreSQL deferred trigger")
def test_a_commit_that_fails_removes_the_placed_file(app, union, upload_dir):
    member_id = make_member(app, union.group_a)
    with app.app_context(), db.engine.begin() as connection:
        _make_commit_fail(connection)
    try:
        with (
            app.app_context(),
            pytest.raises(sa.exc.DBAPIError, match="disk quota"),
            staged_upload(BytesIO(png_bytes()), "a.png") as staged,
            unit_of_work(),
        ):
            store_upload(staged, member=db.session.get(Member, member_id))
            db.session.flush()
            assert staged.placed_path is not None and staged.placed_path.exists()
    finally:
        with app.app_context(), db.engine.begin() as connection:
            _drop_commit_failure(connection)
    assert stored_files(upload_dir) == []
    assert count(app, Upload) == 0


@pytest.mark.skipif(ON_POSTGRES, reason="the PostgreSQL variant fails at COMMIT instead")
def test_an_insert_the_database_refuses_leaves_no_file(app, union, upload_dir):
    member_id = make_member(app, union.group_a)
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TRIGGER refuse_upload BEFORE INSERT ON uploads BEGIN SELECT RAISE(ABORT, 'no'); END"
            )
        )
    try:
        with (
            app.app_context(),
            pytest.raises(sa.exc.IntegrityError),
            staged_upload(BytesIO(png_bytes()), "a.png") as staged,
            unit_of_work(),
        ):
            store_upload(staged, member=db.session.get(Member, member_id))
    finally:
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(sa.text("DROP TRIGGER refuse_upload"))
    assert stored_files(upload_dir) == []
    assert count(app, Upload) == 0


def test_an_upload_has_exactly_one_owner(app, union, upload_dir):
    with app.app_context(), pytest.raises(ValueError), staged_upload(BytesIO(PDF), "a.pdf") as staged:
        store_upload(staged)
    assert stored_files(upload_dir) == []


@pytest.mark.parametrize(
    ("size", "text"), [(10 * 1024 * 1024, "10 MB"), (1536 * 1024, "1.5 MB"), (1000, "1 KB"), (100, "1 KB")]
)
def test_sizes_read_naturally(size, text):
    assert human_size(size) == text
