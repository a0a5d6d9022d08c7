"""Resolving 所属组织 cells against the group tree, inside the importing staff member's scope."""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa

from backend.extensions import db
from backend.members.models import Group


class GroupIndex:
    """The whole group tree, loaded once, to resolve 所属组织 cells by name or by path."""

    def __init__(self, scope: Group | None) -> None:
        groups = db.session.scalars(sa.select(Group)).all()
        self.scope = scope
        self.by_id = {g.id: g for g in groups}
        self.by_name: dict[str, list[Group]] = {}
        for group in groups:
            self.by_name.setdefault(_group_key(group.name), []).append(group)
        self._cache: dict[str, tuple[Group | None, str | None]] = {}

    def in_scope(self, group: Group) -> bool:
        return self.scope is None or self.scope.contains(group)

    def chain(self, group: Group) -> list[Group]:
        ids = [int(part) for part in group.path.strip("/").split("/") if part]
        return [self.by_id[i] for i in ids if i in self.by_id]

    def label(self, group: Group) -> str:
        chain = self.chain(group)
        return "/".join(g.name for g in (chain[1:] if len(chain) > 1 else chain))

    def cell(self, group: Group) -> str:
        """What to write in 所属组织 so that `resolve` finds this group again (the export): its name when
        no other group is called the same, else its whole path from the top ("公司工会/生产分会/装配一组")."""
        if len(self.by_name.get(_group_key(group.name), [])) == 1:
            return group.name
        return "/".join(g.name for g in self.chain(group))

    def resolve(self, text: str) -> tuple[Group | None, str | None]:
        """(group, None) or (None, the reason in Chinese); answers are cached per distinct cell."""
        if text not in self._cache:
            self._cache[text] = self._resolve(text)
        return self._cache[text]

    def _resolve(self, text: str) -> tuple[Group | None, str | None]:
        # The whole cell as one name first: a group may be called "一车间-甲班". Then a path, split at "/"
        # alone ("生产分会/一车间-甲班", as the export writes it), then at any of / > -.
        candidates = self.by_name.get(_group_key(text), [])
        for separators in (r"/", r"[/>\-]"):
            if candidates:
                break
            parts = [_group_key(p) for p in re.split(separators, unicodedata.normalize("NFKC", text))]
            parts = [p for p in parts if p]
            if len(parts) > 1:
                candidates = [
                    g
                    for g in self.by_name.get(parts[-1], [])
                    if [_group_key(c.name) for c in self.chain(g)][-len(parts) :] == parts
                ]
        if not candidates:
            return None, f"找不到组织「{text}」"
        mine = [g for g in candidates if self.in_scope(g)]
        if not mine:
            return None, f"组织「{text}」不在您的管理范围内"
        if len(mine) > 1:
            examples = "、".join(f"「{self.label(g)}」" for g in mine[:3])
            return None, f"有多个名为「{text}」的组织，请写明上级组织，如 {examples}"
        return mine[0], None


def _group_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split())
