"""会员名册: search, detail, create, edit, 转会, 离会 and confirming a WeChat binding — all inside the staff
member's scope."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from typing import Any

from flask import flash, redirect, render_template, request, send_file, url_for

from admin.blueprint import bp, current_staff, page_arg, permission_required, post_action, save_form
from admin.forms import (
    ChangeGroupForm,
    EditMemberForm,
    MemberForm,
    MemberStatusForm,
    NewMemberForm,
    group_choices,
)
from backend.db import parse_id, unit_of_work
from backend.errors import NotFound, ValidationFailed
from backend.extensions import db
from backend.members.models import MEMBER_STATUS_LABELS, Member, MemberStatus
from backend.members.operations import (
    confirm_binding,
    create_member,
    set_member_status,
    transfer_member,
    update_member,
)
from backend.members.privacy import reveal_phone
from backend.members.queries import (
    MemberFilters,
    group_display_path,
    group_for_staff,
    group_tree,
    member_for_staff,
    search_members,
)
from backend.members.roster.exporting import export_members
from backend.staff.models import Staff
from backend.staff.permissions import Permission

PER_PAGE = 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters(staff: Staff) -> MemberFilters:
    """The list's filters from the query string; a group id that is not one of ours is 404."""
    group = None
    if request.args.get("group"):
        group_id = parse_id(request.args["group"])
        if group_id is None:
            raise NotFound()
        group = group_for_staff(group_id, staff)
    status_value = request.args.get("status", "")
    status = MemberStatus(status_value) if status_value in MEMBER_STATUS_LABELS else None
    return MemberFilters(
        q=request.args.get("q", "").strip()[:50],
        group=group,
        status=status,
        unconfirmed=request.args.get("binding") == "unconfirmed",
    )


@bp.get("/members/")
@permission_required(Permission.view_members)
def members_list() -> Any:
    staff = current_staff()
    filters = _filters(staff)
    query = search_members(
        staff, q=filters.q, group=filters.group, status=filters.status, unconfirmed=filters.unconfirmed
    )
    pagination = db.paginate(query, page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template(
        "admin/members/list.html",
        pagination=pagination,
        members=pagination.items,
        q=filters.q,
        group_id=filters.group.id if filters.group else None,
        status=filters.status.value if filters.status else "",
        unconfirmed=filters.unconfirmed,
        groups=group_choices(group_tree(staff.scope)),
        statuses=MEMBER_STATUS_LABELS,
        filtered=filters.active,
    )


@bp.get("/members/export.xlsx")
@permission_required(Permission.view_members)
def members_export() -> Any:
    """The list as it is filtered, in the roster template's columns (export → edit → import); audited."""
    staff = current_staff()
    filters = _filters(staff)
    try:
        with unit_of_work():
            data, _ = export_members(staff, filters)
    except ValidationFailed as error:
        flash(error.message, "error")
        return redirect(url_for("admin.members_list", **request.args))
    return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True, download_name="会员名册.xlsx")


@bp.get("/members/<int:member_id>")
@permission_required(Permission.view_members)
def member_detail(member_id: int, phone: str | None = None) -> Any:
    """The member's page, the phone masked; `phone`: the full number, after a 显示完整号码 click."""
    staff = current_staff()
    member = member_for_staff(member_id, staff)
    return render_template(
        "admin/members/detail.html",
        member=member,
        phone=phone,
        group_path=group_display_path(member.group),
        can_edit=staff.can_edit(member),
        status_form=MemberStatusForm(),
        display_path=group_display_path,
    )


@bp.post("/members/<int:member_id>/phone")
@permission_required(Permission.edit_members)
def member_phone(member_id: int) -> Any:
    """显示完整号码: each click shows the full phone once and is one audited read (never a page view)."""
    staff = current_staff()
    member = member_for_staff(member_id, staff)
    with unit_of_work():
        phone = reveal_phone(member, staff=staff, where="detail")
    return member_detail(member_id, phone=phone)


def _member_fields(form: MemberForm) -> dict[str, Any]:
    """What the member form says about the person (the group aside): the same when adding and editing."""
    return {
        "name": form.name.data or "",
        "employee_no": form.employee_no.data or "",
        "phone": form.phone.data,
        "birthday": form.birthday.data,
        "joined_on": form.joined_on.data,
        "retires_on": form.retires_on.data,
    }


def _submit_member_form(
    form: MemberForm, member: Member | None, save: Callable[[], Member], done: str
) -> Any:
    """A posted member form: `save` runs in one transaction; the saved member's page opens with `done`
    flashed. A refusal shows on the form, as does the form's own validation."""
    result = save_form(form, save, field="employee_no")
    if result.saved and result.value is not None:
        flash(done.format(name=result.value.name), "success")
        return redirect(url_for("admin.member_detail", member_id=result.value.id))
    return render_template("admin/members/form.html", form=form, member=member), result.status


@bp.route("/members/new", methods=["GET", "POST"])
@permission_required(Permission.edit_members)
def member_new() -> Any:
    staff = current_staff()
    form = NewMemberForm()
    form.group_id.choices = group_choices(group_tree(staff.scope))
    if request.method == "GET" and parse_id(request.args.get("group")) is not None:
        form.group_id.data = parse_id(request.args.get("group"))
    return _submit_member_form(
        form,
        None,
        lambda: create_member(
            staff=staff, group=group_for_staff(form.group_id.data, staff), **_member_fields(form)
        ),
        "已添加会员「{name}」",
    )


@bp.route("/members/<int:member_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.edit_members)
def member_edit(member_id: int) -> Any:
    staff = current_staff()
    member = member_for_staff(member_id, staff)
    form = EditMemberForm(obj=member)
    if request.method == "GET":
        form.phone.data = ""  # never the full number in the page: blank keeps it (update_member)
    if member.phone_masked:
        form.phone.description = f"留空则保持原号码 {member.phone_masked}"
    return _submit_member_form(
        form,
        member,
        lambda: update_member(
            member, staff=staff, **_member_fields(form), clear_phone=bool(form.clear_phone.data)
        ),
        "会员信息已保存",
    )


@bp.route("/members/<int:member_id>/group", methods=["GET", "POST"])
@permission_required(Permission.edit_members)
def member_change_group(member_id: int) -> Any:
    staff = current_staff()
    member = member_for_staff(member_id, staff)
    form = ChangeGroupForm()
    form.group_id.choices = group_choices(group_tree(staff.scope))
    if request.method == "GET":
        form.group_id.data = member.group_id
    result = save_form(
        form,
        lambda: transfer_member(
            member, group_for_staff(form.group_id.data, staff), staff=staff, reason=form.reason.data or ""
        ),
        field="group_id",
    )
    if result.saved:
        flash(f"已转入「{member.group.name}」", "success")
        return redirect(url_for("admin.member_detail", member_id=member_id))
    page = render_template(
        "admin/members/change_group.html",
        form=form,
        member=member,
        group_path=group_display_path(member.group),
    )
    return page, result.status


@bp.post("/members/<int:member_id>/status/<any(left, active):to>")
@permission_required(Permission.edit_members)
def member_status(member_id: int, to: str) -> Any:
    staff = current_staff()
    member = member_for_staff(member_id, staff)
    detail = url_for("admin.member_detail", member_id=member_id)
    form = MemberStatusForm()
    if not form.validate():
        flash("原因最多 200 字", "error")
        return redirect(detail)
    return post_action(
        lambda: set_member_status(member, MemberStatus(to), staff=staff, reason=form.reason.data or ""),
        success="已标记为离会，其小程序登录已失效" if to == "left" else "已恢复为在册会员",
        redirect_to=detail,
        errors=(),
    )


@bp.post("/members/<int:member_id>/binding/confirm")
@permission_required(Permission.edit_members)
def member_binding_confirm(member_id: int) -> Any:
    """The staff member checked that the WeChat account bound by name + 工号 is the member's own."""
    staff = current_staff()
    member = member_for_staff(member_id, staff)
    return post_action(
        lambda: confirm_binding(member, staff=staff),
        success="已确认该微信绑定为会员本人",
        redirect_to=url_for("admin.member_detail", member_id=member_id),
    )
