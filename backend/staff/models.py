"""Union staff who use the admin: a role and a scope (a subtree of groups)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from backend.db import utcnow
from backend.extensions import db
from backend.members.models import Group, JoinRequest, Member, str_enum
from backend.staff.permissions import ROLE_LABELS, ROLE_PERMISSIONS, Permission, Role

__all__ = ["ROLE_LABELS", "ROLE_PERMISSIONS", "Permission", "Role", "Staff"]


class Staff(UserMixin, db.Model):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(50), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(50))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, "staff_role"))
    scope_group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups.id"))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Bumped on password change or disabling: invalidates every open admin session of this person.
    session_version: Mapped[int] = mapped_column(default=1)
    # The roster member this staff account belongs to, when known: nobody decides their own hardship case.
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"), unique=True)

    scope: Mapped[Group] = relationship()
    member: Mapped[Member | None] = relationship()

    # Flask-Login
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.is_enabled

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    @property
    def holds_whole_union(self) -> bool:
        """Whose scope is the root of the union's tree (the company union itself)."""
        return self.scope.parent_id is None

    def in_scope(self, group: Group | None) -> bool:
        return self.scope.contains(group)

    def can_see(self, member: Member) -> bool:
        return self.can(Permission.view_members) and self.in_scope(member.group)

    def can_edit(self, member: Member) -> bool:
        return self.can(Permission.edit_members) and self.in_scope(member.group)

    def can_review(self, request: JoinRequest) -> bool:
        """A request with no chosen group belongs to whoever holds the whole union in scope."""
        if not self.can(Permission.review_join_requests):
            return False
        if request.group is None:
            return self.holds_whole_union
        return self.in_scope(request.group)

    def scope_filter(self, group_column: sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
        """A WHERE clause keeping rows whose group lies in this person's scope."""
        subtree = sa.select(Group.id).where(Group.path.startswith(self.scope.path))
        return group_column.in_(subtree)

    def __repr__(self) -> str:
        return f"<Staff {self.username} {self.role}>"
