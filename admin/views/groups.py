"""组织架构: the staff member's subtree, with member counts; create, rename, delete (only empty)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for

from admin.blueprint import bp, current_staff, permission_required, save_form
from admin.forms import EmptyForm, GroupNameForm
from admin.views.members import group_in_scope
from backend.db import unit_of_work
from backend.errors import GroupNotEmpty, PermissionDenied
from backend.members.operations import create_group, delete_group, rename_group
from backend.members.queries import group_display_path, group_tree, member_counts_by_group


@bp.get("/groups/")
@permission_required("manage_groups")
def groups_tree() -> Any:
    staff = current_staff()
    tree = group_tree(staff.scope)
    counts = member_counts_by_group(staff.scope)
    totals = {
        group.id: sum(counts.get(other.id, 0) for other, _ in tree if other.path.startswith(group.path))
        for group, _ in tree
    }
    return render_template(
        "admin/groups/tree.html",
        tree=tree,
        counts=counts,
        totals=totals,
        has_children={group.parent_id for group, _ in tree},
        delete_form=EmptyForm(),
        scope_root_id=staff.scope_group_id,
    )


@bp.route("/groups/<int:group_id>/new", methods=["GET", "POST"])
@permission_required("manage_groups")
def group_new(group_id: int) -> Any:
    parent = group_in_scope(group_id)
    form = GroupNameForm()
    status = save_form(
        form, lambda: create_group(form.name.data or "", parent=parent, staff=current_staff()), field="name"
    )
    if status is None:
        flash(f"已在「{parent.name}」下新建「{(form.name.data or '').strip()}」", "success")
        return redirect(url_for("admin.groups_tree"))
    return (
        render_template(
            "admin/groups/form.html",
            form=form,
            title="新建下级组织",
            hint=f"上级组织：{group_display_path(parent)}",
            submit="新建",
        ),
        status,
    )


@bp.route("/groups/<int:group_id>/rename", methods=["GET", "POST"])
@permission_required("manage_groups")
def group_rename(group_id: int) -> Any:
    group = group_in_scope(group_id)
    form = GroupNameForm(obj=group)
    status = save_form(
        form, lambda: rename_group(group, form.name.data or "", staff=current_staff()), field="name"
    )
    if status is None:
        flash("组织已改名", "success")
        return redirect(url_for("admin.groups_tree"))
    return (
        render_template(
            "admin/groups/form.html",
            form=form,
            title="组织改名",
            hint=f"现在的名称：{group_display_path(group)}",
            submit="保存",
        ),
        status,
    )


@bp.post("/groups/<int:group_id>/delete")
@permission_required("manage_groups")
def group_delete(group_id: int) -> Any:
    group = group_in_scope(group_id)
    name = group.name
    try:
        with unit_of_work():
            delete_group(group, staff=current_staff())
    except (GroupNotEmpty, PermissionDenied) as error:
        flash(f"不能删除「{name}」：{error.message}", "error")
    else:
        flash(f"已删除「{name}」", "success")
    return redirect(url_for("admin.groups_tree"))
