"""Read-side helpers for members and groups, used by both doors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from backend.crypto import blind_index, last4_index
from backend.db import SHANGHAI, count_rows, utcnow
from backend.errors import NotFound
from backend.extensions import db
from backend.members.models import (
    BindingFailure,
    Group,
    JoinRequest,
    JoinRequestStatus,
    Member,
    MemberStatus,
    WechatAccount,
)
from backend.staff.permissions import Permission

if TYPE_CHECKING:
    from backend.staff.models import Staff


def group_ids_in_path(group: Group) -> list[int]:
    return [int(part) for part in group.path.strip("/").split("/") if part]


def group_display_path(group: Group) -> str:
    """ "公司工会 / 生产分会 / 装配一组": how a worker and a staff member name a group."""
    ids = group_ids_in_path(group)
    names = dict(db.session.execute(sa.select(Group.id, Group.name).where(Group.id.in_(ids))).all())
    return " / ".join(names[i] for i in ids if i in names)


def group_display_paths(groups: Iterable[Group | None]) -> dict[int, str]:
    """`group_display_path` of many groups with one query (a list page names each row's group)."""
    chains = {group.id: group_ids_in_path(group) for group in groups if group is not None}
    ids = {i for chain in chains.values() for i in chain}
    names = (
        dict(db.session.execute(sa.select(Group.id, Group.name).where(Group.id.in_(ids))).all())
        if ids
        else {}
    )
    return {gid: " / ".join(names[i] for i in chain if i in names) for gid, chain in chains.items()}


def group_tree(root: Group) -> list[tuple[Group, int]]:
    """The subtree under `root` in display order, each group with its depth below root."""
    groups = db.session.scalars(
        sa.select(Group).where(Group.path.startswith(root.path)).order_by(Group.sort_order, Group.id)
    ).all()
    children: dict[int | None, list[Group]] = {}
    for group in groups:
        children.setdefault(group.parent_id, []).append(group)
    ordered: list[tuple[Group, int]] = []

    def walk(node: Group, depth: int) -> None:
        ordered.append((node, depth))
        for child in children.get(node.id, []):
            walk(child, depth + 1)

    walk(root, 0)
    return ordered


# --- one object, for a staff member: out of scope is answered like a missing id -------------------


def member_for_staff(member_id: int, staff: Staff) -> Member:
    """The member, if this staff member may see them; anything else is "not there"."""
    member = db.session.get(Member, member_id)
    if member is None or not staff.can_see(member):
        raise NotFound()
    return member


def group_for_staff(group_id: int | None, staff: Staff) -> Group:
    """A group inside the staff member's scope (as a page's subject or a form's chosen group)."""
    group = db.session.get(Group, group_id) if group_id is not None else None
    if group is None or not staff.in_scope(group):
        raise NotFound()
    return group


def join_request_for_reviewer(request_id: int, staff: Staff) -> JoinRequest:
    """A join request this staff member may decide on (see `Staff.can_review`)."""
    join_request = db.session.get(JoinRequest, request_id)
    if join_request is None or not staff.can_review(join_request):
        raise NotFound()
    return join_request


# --- lists and counts ------------------------------------------------------------------------------


def member_counts_by_group(root: Group) -> dict[int, int]:
    rows = db.session.execute(
        sa.select(Member.group_id, sa.func.count())
        .join(Group, Member.group_id == Group.id)
        .where(Group.path.startswith(root.path), Member.status == MemberStatus.active)
        .group_by(Member.group_id)
    ).all()
    return dict(rows)


def subtree_totals(tree: list[tuple[Group, int]], counts: dict[int, int]) -> dict[int, int]:
    """Active members in each group of `tree` and every group below it (the group tree's totals)."""
    return {
        group.id: sum(counts.get(other.id, 0) for other, _ in tree if other.path.startswith(group.path))
        for group, _ in tree
    }


@dataclass(frozen=True)
class MemberFilters:
    """What the member list is narrowed to: a name / employee number / phone, a group, a status, and
    whether only bindings that wait for a staff member's confirmation are shown."""

    q: str = ""
    group: Group | None = None
    status: MemberStatus | None = None
    unconfirmed: bool = False

    @property
    def active(self) -> bool:
        return bool(self.q or self.group or self.status or self.unconfirmed)


def _binding_unconfirmed() -> sa.ColumnElement[bool]:
    """Bound by name + 工号 alone (no verified phone, no staff confirmation)."""
    return Member.wechat_account.has(WechatAccount.binding_proof.is_(None))


def search_members(
    staff: Staff,
    *,
    q: str = "",
    group: Group | None = None,
    status: MemberStatus | None = None,
    unconfirmed: bool = False,
) -> sa.Select[tuple[Member]]:
    """Members in the staff member's scope, filtered; `q` is a name, an employee number, a phone or the
    last four digits of one."""
    query = (
        sa.select(Member)
        .options(joinedload(Member.group), joinedload(Member.wechat_account))
        .where(staff.scope_filter(Member.group_id))
        .order_by(Member.employee_no)
    )
    if unconfirmed:
        query = query.where(_binding_unconfirmed())
    if group is not None:
        query = query.where(Member.group_id.in_(sa.select(Group.id).where(Group.path.startswith(group.path))))
    if status is not None:
        query = query.where(Member.status == status)
    q = q.strip()
    if q:
        conditions = [
            Member.name.contains(q, autoescape=True),
            Member.employee_no.startswith(q.upper(), autoescape=True),
        ]
        if q.isdigit() and len(q) >= 7:
            conditions.append(Member.phone_index == blind_index(q))
        elif q.isascii() and q.isdigit() and len(q) == 4:
            # The four digits the list shows (138****5678): the last-four index, never a scan.
            conditions.append(Member.phone_last4_index == last4_index(q))
        query = query.where(sa.or_(*conditions))
    return query


def _reviewable(staff: Staff, query: sa.Select[tuple[JoinRequest]]) -> sa.Select[tuple[JoinRequest]]:
    """The requests this staff member reviews (`Staff.can_review`): the group the applicant chose lies in
    their scope; whoever holds the whole union also has those whose applicant chose no group."""
    in_scope = staff.scope_filter(JoinRequest.group_id)
    if staff.holds_whole_union:
        return query.where(sa.or_(in_scope, JoinRequest.group_id.is_(None)))
    return query.where(in_scope)


def pending_join_requests(staff: Staff) -> sa.Select[tuple[JoinRequest]]:
    query = (
        sa.select(JoinRequest)
        .options(joinedload(JoinRequest.group))
        .where(JoinRequest.status == JoinRequestStatus.pending)
        .order_by(JoinRequest.created_at)
    )
    return _reviewable(staff, query)


def decided_join_requests(staff: Staff) -> sa.Select[tuple[JoinRequest]]:
    """已处理: the requests in this person's charge that are no longer waiting (approved, rejected, or
    withdrawn by a worker who then matched the roster), newest decision first."""
    query = (
        sa.select(JoinRequest)
        .options(joinedload(JoinRequest.group), joinedload(JoinRequest.member).joinedload(Member.group))
        .where(JoinRequest.status != JoinRequestStatus.pending)
        .order_by(JoinRequest.decided_at.desc(), JoinRequest.id.desc())
    )
    return _reviewable(staff, query)


def dashboard_counts(staff: Staff) -> dict[str, int]:
    """工作台: active and departed members in scope, the join requests waiting for this person, and the
    WeChat bindings in scope that wait for a staff member's confirmation (for those who may confirm)."""
    counts: dict[str, int] = {}
    if staff.can(Permission.view_members):
        in_scope = sa.select(Member.id).where(staff.scope_filter(Member.group_id))
        counts["active"] = count_rows(in_scope.where(Member.status == MemberStatus.active))
        counts["left"] = count_rows(in_scope.where(Member.status == MemberStatus.left))
    if staff.can(Permission.edit_members):
        in_scope = sa.select(Member.id).where(staff.scope_filter(Member.group_id))
        counts["unconfirmed"] = count_rows(in_scope.where(_binding_unconfirmed()))
    if staff.can(Permission.review_join_requests):
        counts["pending"] = count_rows(pending_join_requests(staff))
    return counts


def start_of_today(now: datetime | None = None) -> datetime:
    """Midnight in Asia/Shanghai, in UTC: the "today" of the failed bindings counted per 工号."""
    local = (now or utcnow()).astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


@dataclass(frozen=True)
class BindingAttack:
    """A 工号 in scope with many refused bindings today: someone may be trying to take the member over."""

    member: Member
    failures: int
    accounts: int
    last_at: datetime


def binding_attacks(staff: Staff, *, at_least: int, limit: int = 50) -> list[BindingAttack]:
    """工作台: members in scope with `at_least` refused bindings today (BINDING_FAILURE_LIMIT: from then
    on only their verified phone binds them), most attempts first."""
    if not staff.can(Permission.view_members):
        return []
    failures = sa.func.count(BindingFailure.id)
    rows = db.session.execute(
        sa.select(
            Member,
            failures,
            sa.func.count(sa.distinct(BindingFailure.wechat_account_id)),
            sa.func.max(BindingFailure.created_at),
        )
        .join(BindingFailure, BindingFailure.member_id == Member.id)
        .where(staff.scope_filter(Member.group_id), BindingFailure.created_at >= start_of_today())
        .group_by(Member.id)
        .having(failures >= max(at_least, 1))
        .order_by(failures.desc(), Member.employee_no)
        .limit(limit)
    ).all()
    return [BindingAttack(member, count, accounts, last_at) for member, count, accounts, last_at in rows]
