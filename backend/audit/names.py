"""The names an audit page mentions: the members, groups, announcements, staff accounts and join requests
its rows touched, looked up once per kind for a whole page (never one query per row), and masked where
the viewer may not see them.

Masking: a record the viewer could not open is shown by its kind alone, "会员（范围外）": no name, no
initial, no number. A row is visible because of who wrote it and where they stood then
(backend/audit/queries.py); the record it touched may since have moved out of the viewer's branch (a
member transferred away), and its name is then no longer theirs to read. The rules are the ones the
admin's own pages apply: a member or a group inside the viewer's scope (``Staff.can_see``,
``Staff.in_scope``), a join request the viewer could review (``Staff.can_review``), an announcement
whose whole audience lies inside the scope (``Announcement.can_manage``), a staff account whose scope
lies inside the viewer's. A record that no longer exists (a deleted group, a join request erased with
its WeChat account) reads "（已删除）".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from backend.announcements.models import Announcement, announcement_groups
from backend.audit.labels import object_type_label
from backend.extensions import db
from backend.members.models import Group, JoinRequest, Member
from backend.staff.models import Staff
from backend.staff.permissions import Permission

if TYPE_CHECKING:
    from backend.audit.models import AuditLog

OUT_OF_SCOPE = "（范围外）"
GONE = "（已删除）"
# Detail keys whose values are ids of groups or of staff accounts (lists allowed: "group_ids").
GROUP_KEYS = frozenset({"from_group", "to_group", "scope", "group_id", "group_ids"})
STAFF_KEYS = frozenset({"staff_id"})
KINDS = ("members", "groups", "announcements", "staff", "join_requests")


@dataclass
class ObjectNames:
    """id → readable name per kind; None for a record the viewer may not see; absent: no longer there."""

    names: dict[str, dict[int, str | None]] = field(default_factory=lambda: {kind: {} for kind in KINDS})

    def target(self, entry: AuditLog) -> str:
        """The record an audit row touched, as a person reads it ("会员 张三", "公告「…」")."""
        if not entry.object_type:
            return ""
        label = object_type_label(entry.object_type)
        if entry.object_id is None:
            return label
        known = self.names.get(entry.object_type)
        if known is None:
            return f"{label}（编号 {entry.object_id}）"  # a kind this module does not name (yet)
        if entry.object_id not in known:
            return label + GONE
        name = known[entry.object_id]
        if name is None:
            return label + OUT_OF_SCOPE
        return f"{label}「{name}」" if entry.object_type == "announcements" else f"{label} {name}"

    def visible(self, entry: AuditLog) -> bool:
        """Whether the row's record is one the viewer may open (so the page may link to it)."""
        known = self.names.get(entry.object_type, {})
        return entry.object_id is not None and known.get(entry.object_id) is not None

    def detail_value(self, key: str, value: Any) -> str | None:
        """A detail value that is an id (or a list of ids) of a group or a staff account, as its name;
        None for any other value, which the labels render as they are."""
        kind = "groups" if key in GROUP_KEYS else "staff" if key in STAFF_KEYS else None
        if kind is None:
            return None
        ids = _ids_in(value)
        if ids is None:
            return None
        return "、".join(self._name(kind, i) for i in ids) or "—"

    def _name(self, kind: str, item_id: int) -> str:
        known = self.names[kind]
        if item_id not in known:
            return GONE
        return known[item_id] or OUT_OF_SCOPE


def _ids_in(value: Any) -> list[int] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return list(value)
    return None


def _wanted(entries: Iterable[AuditLog]) -> dict[str, set[int]]:
    wanted: dict[str, set[int]] = {kind: set() for kind in KINDS}

    def walk(detail: dict[str, Any]) -> None:
        for key, value in detail.items():
            if isinstance(value, dict):
                walk(value)  # the export's "filters"
            elif (ids := _ids_in(value)) is not None and (key in GROUP_KEYS or key in STAFF_KEYS):
                wanted["groups" if key in GROUP_KEYS else "staff"].update(ids)

    for entry in entries:
        if entry.object_type in wanted and entry.object_id is not None:
            wanted[entry.object_type].add(entry.object_id)
        if isinstance(entry.detail, dict):
            walk(entry.detail)
    return wanted


def names_for(entries: Iterable[AuditLog], viewer: Staff) -> ObjectNames:
    """The names of everything these rows mention, for this viewer: at most one query per kind."""
    wanted = _wanted(entries)
    scope = viewer.scope.path
    lookups = {
        "members": _members,
        "groups": _groups,
        "announcements": _announcements,
        "staff": _staff,
        "join_requests": _join_requests,
    }
    result = ObjectNames()
    for kind, ids in wanted.items():
        if ids:
            result.names[kind] = lookups[kind](ids, viewer, scope)
    return result


def _members(ids: set[int], viewer: Staff, scope: str) -> dict[int, str | None]:
    rows = db.session.execute(
        sa.select(Member.id, Member.name, Group.path)
        .join(Group, Member.group_id == Group.id)
        .where(Member.id.in_(ids))
    )
    allowed = viewer.can(Permission.view_members)
    return {i: name if allowed and path.startswith(scope) else None for i, name, path in rows}


def _groups(ids: set[int], viewer: Staff, scope: str) -> dict[int, str | None]:
    """Each group as its path of names ("公司工会 / 生产分会 / 装配一组"), its ancestors in the same query."""
    target, ancestor = aliased(Group), aliased(Group)
    rows = db.session.execute(
        sa.select(target.id, target.path, ancestor.path, ancestor.name)
        .join(ancestor, target.path.startswith(ancestor.path))
        .where(target.id.in_(ids))
    )
    chains: dict[int, tuple[str, list[tuple[int, str]]]] = {}
    for group_id, path, ancestor_path, name in rows:
        chains.setdefault(group_id, (path, []))[1].append((len(ancestor_path), name))
    return {
        group_id: " / ".join(name for _, name in sorted(chain)) if path.startswith(scope) else None
        for group_id, (path, chain) in chains.items()
    }


def _announcements(ids: set[int], viewer: Staff, scope: str) -> dict[int, str | None]:
    link = announcement_groups.c
    has_groups = sa.exists().where(link.announcement_id == Announcement.id)
    reaches_outside = sa.exists().where(
        link.announcement_id == Announcement.id,
        link.group_id.not_in(sa.select(Group.id).where(Group.path.startswith(scope))),
    )
    rows = db.session.execute(
        sa.select(
            Announcement.id, Announcement.title, Announcement.whole_union, has_groups, reaches_outside
        ).where(Announcement.id.in_(ids))
    )
    allowed = viewer.can(Permission.manage_announcements)
    whole = viewer.holds_whole_union
    return {
        i: title if allowed and (whole or (not union_wide and grouped and not outside)) else None
        for i, title, union_wide, grouped, outside in rows
    }


def _staff(ids: set[int], viewer: Staff, scope: str) -> dict[int, str | None]:
    rows = db.session.execute(
        sa.select(Staff.id, Staff.display_name, Staff.username, Group.path)
        .join(Group, Staff.scope_group_id == Group.id)
        .where(Staff.id.in_(ids))
    )
    return {
        i: f"{name}（{username}）" if path.startswith(scope) else None for i, name, username, path in rows
    }


def _join_requests(ids: set[int], viewer: Staff, scope: str) -> dict[int, str | None]:
    rows = db.session.execute(
        sa.select(JoinRequest.id, JoinRequest.name, Group.path)
        .outerjoin(Group, JoinRequest.group_id == Group.id)
        .where(JoinRequest.id.in_(ids))
    )
    allowed = viewer.can(Permission.review_join_requests)

    def visible(path: str | None) -> bool:
        # A request with no chosen group belongs to whoever holds the whole union (Staff.can_review).
        return allowed and (path.startswith(scope) if path is not None else viewer.holds_whole_union)

    return {i: name if visible(path) else None for i, name, path in rows}
