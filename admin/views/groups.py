"""组织架构: the staff member's subtree, with member counts; create, rename, delete (only empty)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, url_for

from admin.blueprint import bp, current_staff, permission_required, post_action, save_form
from admin.forms import EmptyForm, GroupNameForm
from backend.errors import GroupNotEmpty, PermissionDenied
from backend.members.models import Group
from backend.members.operations import create_group, delete_group, rename_group
from backend.members.queries import (
    group_display_path,
    group_for_staff,
    group_tree,
    member_counts_by_group,
    subtree_totals,
)
from backend.staff.permissions import Permission


@bp.get("/groups/")
@permission_required(Permission.manage_groups)
def groups_tree() -> Any:
    staff = current_staff()
    tree = group_tree(staff.scope)
    counts = member_counts_by_group(staff.scope)
    return render_template(
        "admin/groups/tree.html",
        tree=tree,
        counts=counts,
        totals=subtree_totals(tree, counts),
        has_children={group.parent_id for group, _ in tree},
        delete_form=EmptyForm(),
        scope_root_id=staff.scope_group_id,
    )


def _group_form(
    form: GroupNameForm, save: Callable[[], object], *, done: str, title: str, hint: str, submit: str
) -> Any:
    """新建下级组织 / 组织改名: the one name field, saved by `save`; the tree opens with `done` flashed."""
    result = save_form(form, save, field="name")
    if result.saved:
        flash(done, "success")
        return redirect(url_for("admin.groups_tree"))
    page = render_template("admin/groups/form.html", form=form, title=title, hint=hint, submit=submit)
    return page, result.status


@bp.route("/groups/<int:group_id>/new", methods=["GET", "POST"])
@permission_required(Permission.manage_groups)
def group_new(group_id: int) -> Any:
    parent = group_for_staff(group_id, current_staff())
    form = GroupNameForm()
    return _group_form(
        form,
        lambda: create_group(form.name.data or "", parent=parent, staff=current_staff()),
        done=f"已在「{parent.name}」下新建「{(form.name.data or '').strip()}」",
        title="新建下级组织",
        hint=f"上级组织：{group_display_path(parent)}",
        submit="新建",
    )


@bp.route("/groups/<int:group_id>/rename", methods=["GET", "POST"])
@permission_required(Permission.manage_groups)
def group_rename(group_id: int) -> Any:
    group = group_for_staff(group_id, current_staff())
    form = GroupNameForm(obj=group)
    return _group_form(
        form,
        lambda: rename_group(group, form.name.data or "", staff=current_staff()),
        done="组织已改名",
        title="组织改名",
        hint=f"现在的名称：{group_display_path(group)}",
        submit="保存",
    )


@bp.post("/groups/<int:group_id>/delete")
@permission_required(Permission.manage_groups)
def group_delete(group_id: int) -> Any:
    group: Group = group_for_staff(group_id, current_staff())
    name = group.name
    return post_action(
        lambda: delete_group(group, staff=current_staff()),
        success=f"已删除「{name}」",
        redirect_to=url_for("admin.groups_tree"),
        refused=lambda error: f"不能删除「{name}」：{error.message}",
        errors=(GroupNotEmpty, PermissionDenied),
    )
