"""会员名册: search, detail, create, edit, 转会 and 离会 — all inside the staff member's scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from admin.blueprint import bp, current_staff, page_arg, permission_required, save_form
from admin.forms import ChangeGroupForm, MemberForm, MemberStatusForm, NewMemberForm, group_choices
from backend.audit.operations import record
from backend.db import parse_id, unit_of_work
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.members.models import MEMBER_STATUS_LABELS, Group, Member, MemberStatus
from backend.members.operations import change_group, create_member, set_member_status, update_member
from backend.members.queries import group_display_path, group_tree, search_members
from backend.staff.models import Staff

PER_PAGE = 20


def member_in_scope(member_id: int) -> Member:
    """The member, if this staff member may see them; anything else is "not there"."""
    member = db.get_or_404(Member, member_id)
    if not current_staff().can_see(member):
        abort(404)
    return member


def group_in_scope(group_id: int) -> Group:
    group = db.get_or_404(Group, group_id)
    if not current_staff().in_scope(group):
        abort(404)
    return group


def reveal_phone(member: Member, staff: Staff, where: str) -> str | None:
    """The full phone number, for roles that edit members; every showing is an audited read."""
    if not staff.can_edit(member) or not member.phone:
        return None
    with unit_of_work():
        record("member.view_phone", staff=staff, target=member, page=where)
    return member.phone


@bp.get("/members/")
@permission_required("view_members")
def members_list() -> Any:
    staff = current_staff()
    q = request.args.get("q", "").strip()[:50]
    group = None
    if request.args.get("group"):
        group_id = parse_id(request.args["group"])
        if group_id is None:
            abort(404)
        group = group_in_scope(group_id)
    status_value = request.args.get("status", "")
    status = MemberStatus(status_value) if status_value in MEMBER_STATUS_LABELS else None
    page = page_arg()
    pagination = db.paginate(
        search_members(staff, q=q, group=group, status=status),
        page=page,
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "admin/members/list.html",
        pagination=pagination,
        members=pagination.items,
        q=q,
        group_id=group.id if group else None,
        status=status.value if status else "",
        groups=group_choices(group_tree(staff.scope)),
        statuses=MEMBER_STATUS_LABELS,
        filtered=bool(q or group or status),
    )


@bp.get("/members/<int:member_id>")
@permission_required("view_members")
def member_detail(member_id: int) -> Any:
    staff = current_staff()
    member = member_in_scope(member_id)
    phone = reveal_phone(member, staff, "detail")
    return render_template(
        "admin/members/detail.html",
        member=member,
        phone=phone,
        group_path=group_display_path(member.group),
        can_edit=staff.can_edit(member),
        status_form=MemberStatusForm(),
        display_path=group_display_path,
    )


def _member_fields(form: MemberForm) -> dict[str, Any]:
    """What the member form says about the person (the group aside): the same when adding and editing."""
    return {
        "name": form.name.data or "",
        "employee_no": form.employee_no.data or "",
        "phone": form.phone.data,
        "birthday": form.birthday.data,
        "joined_on": form.joined_on.data,
    }


def _submit_member_form(form: MemberForm, member: Member | None, save: Callable[[], tuple[int, str]]) -> Any:
    """A posted member form: `save` runs in one transaction and says (member id, message) on success,
    which opens the member's page; a refusal shows on the form, as does the form's own validation.
    """
    saved: list[tuple[int, str]] = []
    status = save_form(form, lambda: saved.append(save()), field="employee_no")
    if status is None:
        member_id, message = saved[0]
        flash(message, "success")
        return redirect(url_for("admin.member_detail", member_id=member_id))
    return render_template("admin/members/form.html", form=form, member=member), status


@bp.route("/members/new", methods=["GET", "POST"])
@permission_required("edit_members")
def member_new() -> Any:
    staff = current_staff()
    form = NewMemberForm()
    form.group_id.choices = group_choices(group_tree(staff.scope))
    if request.method == "GET" and parse_id(request.args.get("group")) is not None:
        form.group_id.data = parse_id(request.args.get("group"))

    def save() -> tuple[int, str]:
        member = create_member(staff=staff, group=group_in_scope(form.group_id.data), **_member_fields(form))
        return member.id, f"已添加会员「{member.name}」"

    return _submit_member_form(form, None, save)


@bp.route("/members/<int:member_id>/edit", methods=["GET", "POST"])
@permission_required("edit_members")
def member_edit(member_id: int) -> Any:
    staff = current_staff()
    member = member_in_scope(member_id)
    form = MemberForm(obj=member)
    if request.method == "GET":
        form.phone.data = reveal_phone(member, staff, "edit")

    def save() -> tuple[int, str]:
        update_member(member, staff=staff, **_member_fields(form))
        return member_id, "会员信息已保存"

    return _submit_member_form(form, member, save)


@bp.route("/members/<int:member_id>/group", methods=["GET", "POST"])
@permission_required("edit_members")
def member_change_group(member_id: int) -> Any:
    staff = current_staff()
    member = member_in_scope(member_id)
    form = ChangeGroupForm()
    form.group_id.choices = group_choices(group_tree(staff.scope))
    if request.method == "GET":
        form.group_id.data = member.group_id

    def save() -> None:
        if form.group_id.data == member.group_id:
            raise ValidationFailed(errors={"group_id": ["请选择与现在不同的组织"]})
        change_group(member, group_in_scope(form.group_id.data), staff=staff, reason=form.reason.data or "")

    status = save_form(form, save, field="group_id")
    if status is None:
        flash(f"已转入「{member.group.name}」", "success")
        return redirect(url_for("admin.member_detail", member_id=member_id))
    return (
        render_template(
            "admin/members/change_group.html",
            form=form,
            member=member,
            group_path=group_display_path(member.group),
        ),
        status,
    )


@bp.post("/members/<int:member_id>/status/<any(left, active):to>")
@permission_required("edit_members")
def member_status(member_id: int, to: str) -> Any:
    staff = current_staff()
    member = member_in_scope(member_id)
    form = MemberStatusForm()
    if not form.validate():
        flash("原因最多 200 字", "error")
        return redirect(url_for("admin.member_detail", member_id=member_id))
    with unit_of_work():
        set_member_status(member, MemberStatus(to), staff=staff, reason=form.reason.data or "")
    flash("已标记为离会，其小程序登录已失效" if to == "left" else "已恢复为在册会员", "success")
    return redirect(url_for("admin.member_detail", member_id=member_id))
