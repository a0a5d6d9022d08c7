"""Personal data at rest: phone numbers and WeChat session keys are stored encrypted; the blind index that
finds a phone is a keyed hash, not the number."""

from __future__ import annotations

import sqlalchemy as sa

from backend.crypto import blind_index
from backend.extensions import db
from backend.members.models import Member
from backend.members.queries import search_members
from backend.staff.models import Staff
from tests.factories import bound_member, make_staff, make_union

PHONE = "13912345678"


def _raw(app, sql: str, **params):
    """What the database itself holds, read past the models' decrypting column type."""
    with app.app_context():
        return db.session.execute(sa.text(sql), params).one()


def test_phone_and_session_key_are_stored_encrypted(app, client, emu):
    member_id, _ = bound_member(app, client, emu, make_union(app).group_a, phone=PHONE)

    phone, phone_index = _raw(app, "SELECT phone, phone_index FROM members WHERE id = :id", id=member_id)
    assert PHONE not in phone and PHONE not in phone_index
    (session_key,) = _raw(app, "SELECT session_key FROM wechat_accounts WHERE member_id = :id", id=member_id)
    with app.app_context():
        member = db.session.get(Member, member_id)
        assert member.phone == PHONE  # the model reads it back in clear
        assert member.wechat_account.session_key and member.wechat_account.session_key not in session_key


def test_the_blind_index_finds_the_phone_and_depends_on_the_key(app, client, emu):
    union = make_union(app)
    member_id, _ = bound_member(app, client, emu, union.group_a, phone=PHONE)
    staff_id = make_staff(app, "admin", union.root)
    with app.app_context():
        staff = db.session.get(Staff, staff_id)
        assert db.session.scalars(search_members(staff, q=PHONE)).all() == [db.session.get(Member, member_id)]
        index = blind_index(PHONE)
        original = app.config["DATA_KEY"]
        app.config["DATA_KEY"] = "another-key"
        try:
            assert blind_index(PHONE) != index  # a keyed hash: without DATA_KEY no one can test guesses
        finally:
            app.config["DATA_KEY"] = original
