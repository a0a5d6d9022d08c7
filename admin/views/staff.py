"""后台账号 (admins only): list, create, edit role/scope/enabled, reset a password."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_login import login_user
from sqlalchemy.orm import joinedload
from wtforms import SelectChoice

from admin.blueprint import bp, current_staff, permission_required, save_form
from admin.forms import PasswordForm, StaffCreateForm, StaffEditForm, group_choices
from admin.views.members import group_in_scope
from backend.extensions import db
from backend.members.queries import group_display_path, group_tree
from backend.staff.models import ROLE_LABELS, ROLE_PERMISSIONS, Role, Staff
from backend.staff.operations import create_staff, set_password, update_staff

PERMISSION_LABELS = {
    "view_members": "查看会员",
    "edit_members": "编辑会员",
    "import_roster": "导入名册",
    "manage_groups": "管理组织",
    "review_join_requests": "入会审核",
    "manage_staff": "管理后台账号",
    "manage_announcements": "发布公告",
    "view_audit_log": "查看审计日志",
}


def staff_in_scope(staff_id: int) -> Staff:
    account = db.get_or_404(Staff, staff_id)
    if not current_staff().in_scope(account.scope):
        abort(404)
    return account


def _keep_own_session(account: Staff) -> None:
    """Changes bump session_version to end other sessions; the admin making them stays signed in."""
    if account.id == current_staff().id:
        login_user(account)


def _scope_choices() -> list[SelectChoice]:
    return group_choices(group_tree(current_staff().scope))


@bp.get("/staff/")
@permission_required("manage_staff")
def staff_list() -> Any:
    me = current_staff()
    accounts = db.session.scalars(
        sa.select(Staff)
        .options(joinedload(Staff.scope))
        .where(me.scope_filter(Staff.scope_group_id))
        .order_by(Staff.is_enabled.desc(), Staff.role, Staff.username)
    ).all()
    return render_template(
        "admin/staff/list.html",
        accounts=accounts,
        display_path=group_display_path,
        role_permissions=[
            (ROLE_LABELS[role.value], sorted(PERMISSION_LABELS.get(p, p) for p in ROLE_PERMISSIONS[role]))
            for role in Role
        ],
    )


@bp.route("/staff/new", methods=["GET", "POST"])
@permission_required("manage_staff")
def staff_new() -> Any:
    form = StaffCreateForm()
    form.scope_group_id.choices = _scope_choices()
    created: list[Staff] = []

    def save() -> None:
        created.append(
            create_staff(
                username=form.username.data or "",
                display_name=form.display_name.data or "",
                role=Role(form.role.data),
                scope=group_in_scope(form.scope_group_id.data),
                password=form.password.data or "",
                by=current_staff(),
            )
        )

    status = save_form(form, save, field="username")
    if status is None:
        flash(f"已建立账号「{created[0].username}」，请把登录名和初始密码告诉本人", "success")
        return redirect(url_for("admin.staff_list"))
    return render_template("admin/staff/new.html", form=form), status


@bp.route("/staff/<int:staff_id>/edit", methods=["GET", "POST"])
@permission_required("manage_staff")
def staff_edit(staff_id: int) -> Any:
    account = staff_in_scope(staff_id)
    form = StaffEditForm(obj=account)
    form.scope_group_id.choices = _scope_choices()

    def save() -> None:
        update_staff(
            account,
            display_name=form.display_name.data or "",
            role=Role(form.role.data),
            scope=group_in_scope(form.scope_group_id.data),
            is_enabled=bool(form.is_enabled.data),
            by=current_staff(),
        )

    status = save_form(form, save, field="role")
    if status is None:
        _keep_own_session(account)
        flash("账号已保存", "success")
        return redirect(url_for("admin.staff_list"))
    return render_template("admin/staff/edit.html", form=form, account=account), status


@bp.route("/staff/<int:staff_id>/password", methods=["GET", "POST"])
@permission_required("manage_staff")
def staff_password(staff_id: int) -> Any:
    account = staff_in_scope(staff_id)
    form = PasswordForm()
    status = save_form(
        form, lambda: set_password(account, form.password.data or "", by=current_staff()), field="password"
    )
    if status is None:
        _keep_own_session(account)
        flash(f"已重设「{account.username}」的密码，该账号已在所有设备上退出登录", "success")
        return redirect(url_for("admin.staff_list"))
    return render_template("admin/staff/password.html", form=form, account=account), status
