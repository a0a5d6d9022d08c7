"""后台账号 (admins only): list, create, edit role/scope/enabled, reset a password.

Disabling an account asks first: the edit form with 启用 unticked comes back as a question (确定停用…吗？)
holding the same values, and only its confirmation saves. Done on the server, it needs no script and
cannot be skipped by a page that failed to load one.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_user
from wtforms import SelectChoice

from admin.blueprint import bp, current_staff, permission_required, save_form
from admin.forms import PasswordForm, StaffCreateForm, StaffEditForm, group_choices
from backend.members.queries import group_display_path, group_for_staff, group_tree
from backend.staff.models import Role, Staff
from backend.staff.operations import create_staff, set_password, update_staff
from backend.staff.permissions import Permission, role_summaries
from backend.staff.queries import staff_accounts, staff_for_admin

CONFIRMED = "yes"


def _keep_own_session(account: Staff) -> None:
    """Changes bump session_version to end other sessions; the admin making them stays signed in."""
    if account.id == current_staff().id:
        login_user(account)


def _scope_choices() -> list[SelectChoice]:
    return group_choices(group_tree(current_staff().scope))


@bp.get("/staff/")
@permission_required(Permission.manage_staff)
def staff_list() -> Any:
    return render_template(
        "admin/staff/list.html",
        accounts=staff_accounts(current_staff()),
        display_path=group_display_path,
        role_permissions=role_summaries(),
    )


@bp.route("/staff/new", methods=["GET", "POST"])
@permission_required(Permission.manage_staff)
def staff_new() -> Any:
    me = current_staff()
    form = StaffCreateForm()
    form.scope_group_id.choices = _scope_choices()
    result = save_form(
        form,
        lambda: create_staff(
            username=form.username.data or "",
            display_name=form.display_name.data or "",
            role=Role(form.role.data),
            scope=group_for_staff(form.scope_group_id.data, me),
            password=form.password.data or "",
            by=me,
        ),
        field="username",
    )
    if result.saved and result.value is not None:
        flash(f"已建立账号「{result.value.username}」，请把登录名和初始密码告诉本人", "success")
        return redirect(url_for("admin.staff_list"))
    return render_template("admin/staff/new.html", form=form), result.status


def _disabling_unconfirmed(form: StaffEditForm, account: Staff) -> bool:
    """A valid submission that would disable someone else's enabled account, not yet confirmed."""
    return (
        request.method == "POST"
        and account.is_enabled
        and account.id != current_staff().id  # disabling oneself is refused outright (update_staff)
        and form.validate()
        and not form.is_enabled.data
        and form.confirm_disable.data != CONFIRMED
    )


def _saved_message(account: Staff, was_enabled: bool) -> str:
    if was_enabled and not account.is_enabled:
        return f"已停用「{account.display_name}」，其所有登录已退出"
    if account.is_enabled and not was_enabled:
        return f"已重新启用「{account.display_name}」，本人需要重新登录"
    return "账号已保存"


@bp.route("/staff/<int:staff_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.manage_staff)
def staff_edit(staff_id: int) -> Any:
    me = current_staff()
    account = staff_for_admin(staff_id, me)
    form = StaffEditForm(obj=account, member_employee_no=account.member.employee_no if account.member else "")
    form.scope_group_id.choices = _scope_choices()
    if _disabling_unconfirmed(form, account):
        form.confirm_disable.data = CONFIRMED  # the same form, sent again from the question, says yes
        return render_template("admin/staff/edit.html", form=form, account=account, confirm_disable=True)
    was_enabled = account.is_enabled
    result = save_form(form, lambda: _update(account, form, me), field="role")
    if result.saved:
        _keep_own_session(account)
        flash(_saved_message(account, was_enabled), "success")
        return redirect(url_for("admin.staff_list"))
    return render_template("admin/staff/edit.html", form=form, account=account), result.status


def _update(account: Staff, form: StaffEditForm, me: Staff) -> Staff:
    return update_staff(
        account,
        display_name=form.display_name.data or "",
        role=Role(form.role.data),
        scope=group_for_staff(form.scope_group_id.data, me),
        is_enabled=bool(form.is_enabled.data),
        by=me,
        member_employee_no=form.member_employee_no.data or "",
    )


@bp.route("/staff/<int:staff_id>/password", methods=["GET", "POST"])
@permission_required(Permission.manage_staff)
def staff_password(staff_id: int) -> Any:
    account = staff_for_admin(staff_id, current_staff())
    form = PasswordForm()
    result = save_form(
        form, lambda: set_password(account, form.password.data or "", by=current_staff()), field="password"
    )
    if result.saved:
        _keep_own_session(account)
        flash(f"已重设「{account.username}」的密码，该账号已在所有设备上退出登录", "success")
        return redirect(url_for("admin.staff_list"))
    return render_template("admin/staff/password.html", form=form, account=account), result.status
