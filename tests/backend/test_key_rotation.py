"""Rotating DATA_KEY: search by phone keeps finding people (the blind index has a key of its own), and
`flask rotate-data-key` moves every encrypted value under the first key and rebuilds the index."""

from __future__ import annotations

import hashlib
import hmac

import pytest
import sqlalchemy as sa

from backend.crypto import blind_index
from backend.db import unit_of_work
from backend.extensions import db
from backend.key_rotation import _rewrite, tables_to_rotate
from backend.members.models import JoinRequest, Member, WechatAccount
from backend.members.queries import search_members
from backend.staff.models import Staff
from tests.factories import bound_member, make_member, make_staff, make_union

OLD = "test-data-key"  # tests/conftest.py's DATA_KEY: what every row below is first written with
NEW = "a-brand-new-data-key"
PHONE = "13912345678"


@pytest.fixture
def use_keys(app, monkeypatch):
    assert app.config["DATA_KEY"] == OLD and not app.config.get("DATA_INDEX_KEY")

    def use(data_key: str, index_key: str | None = None) -> None:
        monkeypatch.setitem(app.config, "DATA_KEY", data_key)
        monkeypatch.setitem(app.config, "DATA_INDEX_KEY", index_key)

    return use


def found_by_phone(app, phone: str = PHONE) -> list[int]:
    with app.app_context():
        staff = db.session.scalar(sa.select(Staff))
        return [member.id for member in db.session.scalars(search_members(staff, q=phone))]


@pytest.fixture
def union_with_admin(app):
    union = make_union(app)
    make_staff(app, "admin", union.root)
    return union


def rotate(app) -> str:
    result = app.test_cli_runner().invoke(args=["rotate-data-key", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    return result.output


def test_without_an_index_key_the_index_is_made_as_before(app, union_with_admin):
    """Rows indexed before DATA_INDEX_KEY existed must stay findable: the derivation is unchanged."""
    member_id = make_member(app, union_with_admin.group_a, phone=PHONE)
    before = hmac.new(hashlib.sha256(b"index:" + OLD.encode()).digest(), PHONE.encode(), hashlib.sha256)
    with app.app_context():
        assert db.session.get(Member, member_id).phone_index == before.hexdigest()[:40]


def test_search_by_phone_still_finds_with_a_new_key_put_first(app, union_with_admin, use_keys):
    member_id = make_member(app, union_with_admin.group_a, phone=PHONE)
    use_keys(f"{NEW},{OLD}", index_key=OLD)
    assert found_by_phone(app) == [member_id]
    later_id = make_member(app, union_with_admin.group_a, phone="13700000001")  # written under NEW
    assert found_by_phone(app, "13700000001") == [later_id]


def test_rotate_data_key_moves_everything_under_the_first_key(app, client, emu, union_with_admin, use_keys):
    member_id, _ = bound_member(app, client, emu, union_with_admin.group_a, phone=PHONE)
    for _ in range(4):  # more rows than one batch
        make_member(app, union_with_admin.group_b)
    with app.app_context(), unit_of_work():
        account = WechatAccount(openid="openid-applicant")
        db.session.add(account)
        db.session.add(
            JoinRequest(wechat_account=account, name="申请人", employee_no="N1", phone="13600000000")
        )

    use_keys(f"{NEW},{OLD}", index_key=OLD)
    output = rotate(app)
    assert "members" in output and "wechat_accounts" in output and "join_requests" in output

    use_keys(NEW, index_key=OLD)  # the old key is gone: every value must now be readable without it
    with app.app_context():
        member = db.session.get(Member, member_id)
        assert member.phone == PHONE and member.wechat_account.session_key
        assert db.session.scalar(sa.select(JoinRequest.phone)) == "13600000000"
        assert all(m.phone for m in db.session.scalars(sa.select(Member)))
    assert found_by_phone(app) == [member_id]


def test_rotate_data_key_rebuilds_the_index_with_a_new_index_key(app, union_with_admin, use_keys):
    member_id = make_member(app, union_with_admin.group_a, phone=PHONE)
    use_keys(OLD, index_key="a-separate-index-key")
    assert found_by_phone(app) == []  # the index was made with the old index key
    rotate(app)
    assert found_by_phone(app) == [member_id]


def test_rotation_leaves_alone_a_row_changed_since_it_was_read(app, union_with_admin):
    member_id = make_member(app, union_with_admin.group_a, phone=PHONE)
    (members,) = [rotation for rotation in tables_to_rotate() if rotation.table.name == "members"]
    with app.app_context(), unit_of_work() as session:
        (stored,) = session.execute(
            sa.text("SELECT phone FROM members WHERE id = :id"), {"id": member_id}
        ).one()
        session.execute(
            sa.text("UPDATE members SET phone = :p WHERE id = :id"), {"p": "changed", "id": member_id}
        )
        assert not _rewrite(session, members, member_id, {"phone": stored})
        assert session.execute(sa.text("SELECT phone FROM members")).scalar() == "changed"


def test_every_encrypted_column_is_rotated():
    rotated = {(r.table.name, c.name) for r in tables_to_rotate() for c in r.encrypted}
    assert rotated >= {("members", "phone"), ("wechat_accounts", "session_key"), ("join_requests", "phone")}
    (members,) = [r for r in tables_to_rotate() if r.table.name == "members"]
    assert members.indexes == {"phone_index": "phone"}


def test_blind_index_refuses_several_data_keys_without_an_index_key(app, use_keys):
    use_keys(f"{NEW},{OLD}")
    with app.app_context(), pytest.raises(RuntimeError, match="DATA_INDEX_KEY"):
        blind_index(PHONE)
