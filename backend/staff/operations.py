"""Staff accounts: created and changed by admins; logins recorded in the audit log."""

from __future__ import annotations

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from backend.audit.operations import record
from backend.db import utcnow
from backend.errors import DuplicateUsername, NotFound, ValidationFailed
from backend.extensions import db
from backend.members.models import Group, Member
from backend.staff.models import Role, Staff
from backend.staff.permissions import Permission

MIN_PASSWORD_LENGTH = 8


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(errors={"password": [f"密码至少 {MIN_PASSWORD_LENGTH} 位"]})


def _require_admin(by: Staff | None) -> None:
    if by is not None and not by.can(Permission.manage_staff):
        raise NotFound()


def create_staff(
    *, username: str, display_name: str, role: Role, scope: Group, password: str, by: Staff | None
) -> Staff:
    """A new admin login. `by` is the admin creating it, None from the shell."""
    _require_admin(by)
    username = username.strip()
    if not username:
        raise ValidationFailed(errors={"username": ["请填写登录名"]})
    _check_password(password)
    if db.session.scalar(sa.select(Staff.id).where(sa.func.lower(Staff.username) == username.lower())):
        raise DuplicateUsername()
    staff = Staff(username=username, display_name=display_name.strip() or username, role=role, scope=scope)
    staff.set_password(password)
    db.session.add(staff)
    db.session.flush()
    record("staff.create", staff=by, target=staff, username=username, role=role.value, scope=scope.id)
    return staff


def update_staff(
    staff: Staff,
    *,
    display_name: str,
    role: Role,
    scope: Group,
    is_enabled: bool,
    by: Staff,
    member_employee_no: str | None = None,
) -> Staff:
    """``member_employee_no``: the 工号 of the roster member who uses this account ("" to unlink, None to
    leave as it is); a linked account cannot decide its owner's own hardship application."""
    _require_admin(by)
    if staff.id == by.id and (not is_enabled or role != Role.admin):
        raise ValidationFailed(errors={"role": ["不能停用自己的账号或取消自己的管理员身份"]})
    wanted = {
        "display_name": display_name.strip(),
        "role": role,
        "scope_group_id": scope.id,
        "is_enabled": is_enabled,
    }
    if member_employee_no is not None:
        wanted["member_id"] = _member_for_staff(staff, member_employee_no.strip())
    changes = {field: value for field, value in wanted.items() if getattr(staff, field) != value}
    for field, value in changes.items():
        setattr(staff, field, value)
    if "is_enabled" in changes or "role" in changes or "scope_group_id" in changes:
        staff.session_version += 1  # open sessions end; the new rights apply from the next login
    db.session.flush()
    if changes:
        record("staff.update", staff=by, target=staff, fields=sorted(changes))
    return staff


def link_member(staff: Staff, employee_no: str, *, by: Staff | None) -> Staff:
    """Ties the account to the roster member with this 工号 ("" unties it): `flask link-staff-member`.
    The admin's edit page does the same through ``update_staff``. `by` is None from the shell."""
    if by is not None:
        _require_admin(by)
    member_id = _member_for_staff(staff, employee_no.strip())
    if staff.member_id != member_id:
        staff.member_id = member_id
        db.session.flush()
        record("staff.update", staff=by, target=staff, fields=["member_id"])
    return staff


def _member_for_staff(staff: Staff, employee_no: str) -> int | None:
    """The id of the roster member with this 工号, if no other staff account is linked to them."""
    if not employee_no:
        return None
    member_id = db.session.scalar(sa.select(Member.id).where(Member.employee_no == employee_no))
    if member_id is None:
        raise ValidationFailed(errors={"member_employee_no": ["名册里没有这个工号"]})
    taken = db.session.scalar(
        sa.select(Staff.username).where(Staff.member_id == member_id, Staff.id != staff.id)
    )
    if taken:
        raise ValidationFailed(errors={"member_employee_no": [f"这个工号已对应后台账号 {taken}"]})
    return member_id


def set_password(staff: Staff, password: str, *, by: Staff) -> Staff:
    if by.id != staff.id:
        _require_admin(by)
    _check_password(password)
    staff.set_password(password)
    staff.session_version += 1
    db.session.flush()
    record("staff.password", staff=by, target=staff)
    return staff


def change_own_password(staff: Staff, *, current_password: str, new_password: str) -> bool:
    """A staff member changes their own password, proving who they are with the current one.

    False, changing nothing, when the current password is wrong: that attempt is audited like a failed
    login, so the caller commits either way. On success every open session of this person ends
    (session_version); the door signs the session that made the change in again.
    """
    if not staff.check_password(current_password):
        record("staff.password_change_failed", staff=staff, target=staff)
        return False
    _check_password(new_password)
    if new_password == current_password:
        raise ValidationFailed(errors={"password": ["新密码不能与当前密码相同"]})
    staff.set_password(new_password)
    staff.session_version += 1
    db.session.flush()
    record("staff.password_change", staff=staff, target=staff)
    return True


def end_sessions(staff: Staff) -> Staff:
    """Signing out: every admin session of this person ends, in this browser and in any other.

    The session cookie is signed, not stored: a copy of it (from a shared computer, a proxy log) would
    keep working after the browser that made it signed out. Bumping the version is what makes the
    server refuse every cookie issued before.
    """
    staff.session_version += 1
    db.session.flush()
    return staff


_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _burn_a_hash(password: str) -> bool:
    check_password_hash(_DUMMY_HASH, password)
    return False


def authenticate_staff(username: str, password: str) -> Staff | None:
    """The enabled staff member with these credentials; every attempt is audited."""
    staff = db.session.scalar(
        sa.select(Staff).where(sa.func.lower(Staff.username) == username.strip().lower())
    )
    # An unknown username costs one password hash too, so the answer's timing does not tell which
    # usernames exist.
    matches = staff.check_password(password) if staff is not None else _burn_a_hash(password)
    if staff is None or not staff.is_enabled or not matches:
        record(
            "staff.login_failed",
            staff=staff if staff and staff.is_enabled else None,
            username=username.strip()[:50],
        )
        return None
    staff.last_login_at = utcnow()
    record("staff.login", staff=staff, target=staff)
    return staff
