"""Read-side helpers for members and groups, used by both doors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from backend.crypto import blind_index, last4_index
from backend.db import count_rows
from backend.errors import NotFound
from backend.extensions import db
from backend.members.models import Group, JoinRequest, JoinRequestStatus, Member, MemberStatus
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
    """What the member list is narrowed to: a name / employee number / phone, a group, a status."""

    q: str = ""
    group: Group | None = None
    status: MemberStatus | None = None

    @property
    def active(self) -> bool:
        return bool(self.q or self.group or self.status)


def search_members(
    staff: Staff,
    *,
    q: str = "",
    group: Group | None = None,
    status: MemberStatus | None = None,
) -> sa.Select[tuple[Member]]:
    """Members in the staff member's scope, filtered; `q` is a name, an employee number, a phone or the
    last four digits of one."""
    query = (
        sa.select(Member)
        .options(joinedload(Member.group), joinedload(Member.wechat_account))
        .where(staff.scope_filter(Member.group_id))
        .order_by(Member.employee_no)
    )
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


def pending_join_requests(staff: Staff) -> sa.Select[tuple[JoinRequest]]:
    query = (
        sa.select(JoinRequest)
        .options(joinedload(JoinRequest.group))
        .where(JoinRequest.status == JoinRequestStatus.pending)
        .order_by(JoinRequest.created_at)
    )
    in_scope = staff.scope_filter(JoinRequest.group_id)
    if staff.holds_whole_union:
        # Whoever holds the whole union also sees requests whose applicant chose no group.
        return query.where(sa.or_(in_scope, JoinRequest.group_id.is_(None)))
    return query.where(in_scope)


def dashboard_counts(staff: Staff) -> dict[str, int]:
    """工作台: active and departed members in scope, and the join requests waiting for this person."""
    counts: dict[str, int] = {}
    if staff.can(Permission.view_members):
        in_scope = sa.select(Member.id).where(staff.scope_filter(Member.group_id))
        counts["active"] = count_rows(in_scope.where(Member.status == MemberStatus.active))
        counts["left"] = count_rows(in_scope.where(Member.status == MemberStatus.left))
    if staff.can(Permission.review_join_requests):
        counts["pending"] = count_rows(pending_join_requests(staff))
    return counts
