"""Read-side helpers for staff accounts (the admin's 后台账号 pages)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from backend.errors import NotFound
from backend.extensions import db
from backend.staff.models import Staff
from backend.staff.permissions import Permission


def staff_accounts(admin: Staff) -> list[Staff]:
    """The accounts an admin manages: those whose scope lies in the admin's, enabled first."""
    if not admin.can(Permission.manage_staff):
        return []
    return list(
        db.session.scalars(
            sa.select(Staff)
            .options(joinedload(Staff.scope))
            .where(admin.scope_filter(Staff.scope_group_id))
            .order_by(Staff.is_enabled.desc(), Staff.role, Staff.username)
        )
    )


def staff_for_admin(staff_id: int, admin: Staff) -> Staff:
    """One account an admin may change; any other (or a missing id) is "not there"."""
    account = db.session.get(Staff, staff_id)
    if account is None or not admin.can(Permission.manage_staff) or not admin.in_scope(account.scope):
        raise NotFound()
    return account


def display_names(staff_ids: Iterable[int | None]) -> dict[int, str]:
    """id → the name staff are shown by, for a list of rows that name who did something (one query)."""
    ids = {i for i in staff_ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(Staff.id, Staff.display_name).where(Staff.id.in_(ids))).all())
