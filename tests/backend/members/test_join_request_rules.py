"""Deciding a join request: the operations' own rules, whatever door calls them (the admin checks first)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask

from backend.errors import InvalidState, NotFound, ValidationFailed
from backend.extensions import db
from backend.members.models import Group, JoinRequest, JoinRequestStatus, Member, WechatAccount
from backend.members.operations import approve_join_request, reject_join_request
from backend.staff.models import Role, Staff
from tests.factories import Union, make_member, make_staff


@contextmanager
def pending_request(app: Flask, group_id: int | None) -> Iterator[JoinRequest]:
    """A pending request in an open session; whatever the test does is rolled back afterwards."""
    with app.app_context():
        account = WechatAccount(openid="openid-applicant")
        request = JoinRequest(wechat_account=account, name="申请人", employee_no="NEW001")
        request.group = db.session.get(Group, group_id) if group_id is not None else None
        db.session.add_all([account, request])
        db.session.flush()
        try:
            yield request
        finally:
            db.session.rollback()


@pytest.fixture
def officer(app: Flask, union: Union) -> int:
    """An officer of 甲分会 (created before any test opens its session)."""
    return make_staff(app, Role.officer, union.branch_a)


def staff(staff_id: int) -> Staff:
    return db.session.get(Staff, staff_id)


def test_approve_refuses_a_request_outside_the_reviewers_scope(app, union, officer):
    with pending_request(app, union.group_b) as request:
        with pytest.raises(NotFound):
            approve_join_request(request, staff=staff(officer), group=db.session.get(Group, union.group_a))
        assert request.status == JoinRequestStatus.pending


def test_approve_refuses_a_target_group_outside_the_reviewers_scope(app, union, officer):
    with pending_request(app, union.group_a) as request:
        with pytest.raises(NotFound):
            approve_join_request(request, staff=staff(officer), group=db.session.get(Group, union.group_b))
        assert request.status == JoinRequestStatus.pending and request.wechat_account.member is None


def test_approve_refuses_an_account_bound_meanwhile(app, union, officer):
    member_id = make_member(app, union.group_a)
    with pending_request(app, union.group_a) as request:
        request.wechat_account.member = db.session.get(Member, member_id)
        with pytest.raises(InvalidState):
            approve_join_request(request, staff=staff(officer), group=db.session.get(Group, union.group_a))
        assert request.status == JoinRequestStatus.pending


def test_reject_refuses_a_request_outside_the_reviewers_scope(app, union, officer):
    with pending_request(app, union.group_b) as request:
        with pytest.raises(NotFound):
            reject_join_request(request, staff=staff(officer), comment="不是本公司职工")
        assert request.status == JoinRequestStatus.pending


def test_reject_needs_a_reason_the_applicant_can_read(app, union, officer):
    with pending_request(app, union.group_a) as request:
        with pytest.raises(ValidationFailed):
            reject_join_request(request, staff=staff(officer), comment="   ")
        assert request.status == JoinRequestStatus.pending


def test_a_decided_request_cannot_be_rejected_again(app, union, officer):
    with pending_request(app, union.group_a) as request:
        approve_join_request(request, staff=staff(officer), group=db.session.get(Group, union.group_a))
        with pytest.raises(InvalidState):
            reject_join_request(request, staff=staff(officer), comment="不行")
        assert request.status == JoinRequestStatus.approved
