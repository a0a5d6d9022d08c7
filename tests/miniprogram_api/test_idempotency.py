"""The Idempotency-Key header (API.md, Conventions), through POST /api/v1/uploads."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.idempotency import (
    CommitInsideIdempotentView,
    IdempotencyKey,
    purge_expired_idempotency_keys,
    view_running,
)
from backend.members.models import Member
from backend.uploads.models import Upload
from tests.concurrency import WAIT, lock_waiters_run
from tests.conftest import ON_POSTGRES, requires_postgres
from tests.factories import (
    HTML,
    PDF,
    api_login,
    api_upload,
    auth,
    bound_member,
    count,
    get,
    make_member,
    png_bytes,
    stored_files,
)


def upload(client, token, data: bytes = PDF, name: str = "证明.pdf", key: str | None = "key-1"):
    """An upload sent with this Idempotency-Key (None: without the header)."""
    return api_upload(client, token, data, name, **({"Idempotency-Key": key} if key is not None else {}))


def test_the_same_key_returns_the_first_answer_without_acting_again(app, client, emu, union, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    first = upload(client, token)
    again = upload(client, token)

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert count(app, Upload) == 1 and len(stored_files(upload_dir)) == 1


def test_without_a_key_every_request_acts(app, client, emu, union, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    assert upload(client, token, key=None).status_code == upload(client, token, key=None).status_code == 201
    assert count(app, Upload) == 2


@pytest.mark.parametrize(
    ("data", "name"), [(png_bytes(), "证明.pdf"), (PDF, "另一个名字.pdf")], ids=["other-file", "other-name"]
)
def test_the_same_key_with_another_request_is_422(app, client, emu, union, upload_dir, data, name):
    _, token = bound_member(app, client, emu, union.group_a)
    assert upload(client, token).status_code == 201
    response = upload(client, token, data, name)

    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "idempotency_key_reused" and "编号" in body["message"]
    assert count(app, Upload) == 1


def test_keys_belong_to_one_account(app, client, emu, union, upload_dir):
    _, first = bound_member(app, client, emu, union.group_a)
    _, second = bound_member(app, client, emu, union.group_a)
    one, two = upload(client, first), upload(client, second)
    assert one.status_code == two.status_code == 201
    assert one.get_json()["id"] != two.get_json()["id"]
    assert count(app, Upload) == 2


def test_a_request_that_failed_leaves_the_key_free_for_the_retry(app, client, emu, union, upload_dir):
    member_id = make_member(app, union.group_a, name="王五", employee_no="E900")
    token = api_login(client, emu, "wx-wangwu")
    refused = upload(client, token, key="retry-me")
    assert refused.status_code == 403 and count(app, IdempotencyKey) == 0

    phone_code = emu.phone_code("wx-wangwu", get(app, Member, member_id).phone)
    bind = client.post(
        "/api/v1/me/binding",
        json={"name": "王五", "employee_no": "E900", "phone_code": phone_code},
        headers=auth(token),
    )
    assert bind.status_code == 200
    retried = upload(client, token, key="retry-me")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert count(app, Upload, Upload.member_id == member_id) == 1


def test_a_refused_file_is_refused_again_not_replayed(app, client, emu, union, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    for _ in range(2):
        response = upload(client, token, HTML, "a.jpg", key="bad-file")
        assert response.status_code == 415 and "Idempotent-Replayed" not in response.headers
    assert count(app, IdempotencyKey) == 0


@pytest.mark.parametrize(
    "key", ["", " ", "x" * 256, "编号一"], ids=["empty", "blank", "too-long", "not-ascii"]
)
def test_a_malformed_key_is_422(app, client, emu, union, upload_dir, key):
    _, token = bound_member(app, client, emu, union.group_a)
    response = upload(client, token, key=key)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["Idempotency-Key"]
    assert count(app, Upload) == 0


def _age_keys(app, hours: float) -> None:
    with app.app_context(), unit_of_work():
        db.session.execute(sa.update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=hours)))


def test_a_key_older_than_a_day_acts_again(app, client, emu, union, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    first = upload(client, token)
    _age_keys(app, 23)
    assert upload(client, token).get_json() == first.get_json()
    _age_keys(app, 25)
    later = upload(client, token)
    assert later.status_code == 201 and later.get_json()["id"] != first.get_json()["id"]
    assert count(app, IdempotencyKey) == 1


def test_purge_removes_only_expired_keys(app, client, emu, union, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    upload(client, token, key="old")
    _age_keys(app, 25)
    upload(client, token, key="new")
    with app.app_context(), unit_of_work():
        assert purge_expired_idempotency_keys() == 1
    with app.app_context():
        assert db.session.scalars(sa.select(IdempotencyKey.key)).all() == ["new"]


def test_deleting_the_account_deletes_its_keys(app, client, emu, union, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    upload(client, token)
    assert client.delete("/api/v1/me", headers=auth(token)).status_code == 204
    assert count(app, IdempotencyKey) == 0


# --- the answer commits with the work ------------------------------------------------------------


@contextmanager
def _answers_refused(app):
    """A database that refuses to store any answer: on PostgreSQL only at COMMIT (a deferred trigger),
    after the upload row and the answer were written; on SQLite when the answer is written."""
    if ON_POSTGRES:
        create = [
            "CREATE FUNCTION refuse_answer() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
            "CREATE CONSTRAINT TRIGGER refuse_answer AFTER UPDATE ON idempotency_keys "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_answer()",
        ]
        drop = ["DROP TRIGGER refuse_answer ON idempotency_keys", "DROP FUNCTION refuse_answer()"]
    else:
        create = [
            "CREATE TRIGGER refuse_answer BEFORE UPDATE ON idempotency_keys "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        ]
        drop = ["DROP TRIGGER refuse_answer"]
    with app.app_context(), db.engine.begin() as connection:
        for statement in create:
            connection.execute(sa.text(statement))
    try:
        yield
    finally:
        with app.app_context(), db.engine.begin() as connection:
            for statement in drop:
                connection.execute(sa.text(statement))


def test_a_failure_after_the_work_leaves_the_key_usable(app, client, emu, union, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    with _answers_refused(app):
        failed = upload(client, token, key="survives")
    assert failed.status_code == 500
    # The upload went with the answer that could not be stored: no row, no file, no claim.
    assert count(app, Upload) == 0 and stored_files(upload_dir) == []
    assert count(app, IdempotencyKey) == 0

    retried = upload(client, token, key="survives")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    replayed = upload(client, token, key="survives")
    assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.get_json() == retried.get_json()
    assert count(app, Upload) == 1 and len(stored_files(upload_dir)) == 1


def _unanswer(app, seconds_ago: int) -> None:
    """What an older version left when its process died between the work and storing the answer."""
    with app.app_context(), unit_of_work():
        db.session.execute(
            sa.update(IdempotencyKey).values(
                response_status=None,
                response_body=None,
                response_type=None,
                completed_at=None,
                created_at=utcnow() - timedelta(seconds=seconds_ago),
            )
        )


def test_a_claim_without_an_answer_is_in_use_for_a_minute_then_abandoned(app, client, emu, union, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    assert upload(client, token).status_code == 201
    _unanswer(app, seconds_ago=5)
    busy = upload(client, token)
    assert busy.status_code == 409 and busy.get_json()["error"] == "idempotency_key_in_use"

    _unanswer(app, seconds_ago=61)
    abandoned = upload(client, token)
    assert abandoned.status_code == 409
    body = abandoned.get_json()
    assert body["error"] == "idempotency_key_abandoned" and "重新提交" in body["message"]
    assert upload(client, token, key="a-new-key").status_code == 201
    assert count(app, Upload) == 2


def test_a_view_that_commits_on_its_own_is_refused(app, union):
    member_id = make_member(app, union.group_a, name="张三")
    with app.app_context(), view_running(), pytest.raises(CommitInsideIdempotentView), unit_of_work():
        db.session.get(Member, member_id).name = "李四"
    assert get(app, Member, member_id).name == "张三"


def test_savepoints_inside_an_idempotent_view_are_allowed(app, union):
    member_id = make_member(app, union.group_a, name="张三")
    with app.app_context(), unit_of_work(), view_running(), db.session.begin_nested():
        db.session.get(Member, member_id).name = "李四"
    assert get(app, Member, member_id).name == "李四"


# --- two requests with one key at once (PostgreSQL) ---------------------------------------------


class Post(threading.Thread):
    def __init__(self, app, token):
        super().__init__(daemon=True)
        self.app, self.token = app, token
        self.response = None
        self.error: BaseException | None = None

    def run(self):
        try:
            self.response = upload(self.app.test_client(), self.token, key="at-once")
        except BaseException as exc:  # reported by the test
            self.error = exc


@requires_postgres
def test_two_requests_with_one_key_at_once_act_once(app, client, emu, union, upload_dir):
    _, token = bound_member(app, client, emu, union.group_a)
    # Hold the first request between its claim and its upload row: the uploads table is locked.
    with app.app_context(), db.engine.connect() as blocker:
        blocker.execute(sa.text("LOCK TABLE uploads IN ACCESS EXCLUSIVE MODE"))
        first = Post(app, token)
        first.start()
        assert lock_waiters_run(app, "INSERT INTO UPLOADS"), "the first request never reached its upload row"
        second = Post(app, token)
        second.start()
        # The second request's claim meets the first one's uncommitted key and waits for it.
        reached = lock_waiters_run(app, "INSERT INTO UPLOADS", "INSERT INTO IDEMPOTENCY_KEYS")
        blocker.rollback()  # lets the first request finish
    first.join(WAIT)
    second.join(WAIT)
    assert reached, "the second request did not wait on the first one's key"
    assert first.error is None and second.error is None, (first.error, second.error)
    assert first.response.status_code == 201
    assert second.response.status_code == 201 and second.response.headers["Idempotent-Replayed"] == "true"
    assert second.response.get_json() == first.response.get_json()
    assert count(app, Upload) == 1 and len(stored_files(upload_dir)) == 1


# --- the decorator as later domains will use it ------------------------------------------------


def _call(app, view, token, *, method="POST", key="dec-1"):
    """Runs `view` under @idempotent as a request with this token and key would."""
    from miniprogram_api.idempotency import idempotent

    headers = {**auth(token), "Idempotency-Key": key}
    with app.test_request_context("/api/v1/test-writes", method=method, headers=headers, json={"a": 1}):
        return idempotent(view)()


def _writes_a_member(beside: int, status: int):
    """A view that adds a member to the group of member `beside`, then answers `status`."""
    from flask import Response

    from backend.members.operations import create_member

    def view():
        group = db.session.get(Member, beside).group
        number = db.session.scalar(sa.select(sa.func.count()).select_from(Member))
        create_member(staff=None, name="幂等测试", employee_no=f"IDEM{number}", group=group)
        return Response("{}", status=status, content_type="application/json")

    return view


def test_a_returned_server_error_keeps_nothing_and_frees_the_key(app, client, emu, union):
    member_id, token = bound_member(app, client, emu, union.group_a)
    before = count(app, Member)

    assert _call(app, _writes_a_member(member_id, 503), token).status_code == 503
    assert count(app, Member) == before and count(app, IdempotencyKey) == 0  # the work rolled back too
    assert _call(app, _writes_a_member(member_id, 201), token).status_code == 201  # the key acts afresh
    assert count(app, Member) == before + 1 and count(app, IdempotencyKey) == 1


def test_reads_are_neither_claimed_nor_replayed(app, client, emu, union):
    member_id, token = bound_member(app, client, emu, union.group_a)
    before = count(app, Member)
    for _ in range(2):
        assert _call(app, _writes_a_member(member_id, 200), token, method="GET").status_code == 200
    assert count(app, IdempotencyKey) == 0
    # A GET is not wrapped in a transaction either: what it flushed was never committed.
    assert count(app, Member) == before
