"""公告通知: write, preview, publish (now or at a set time), withdraw, delete drafts, and follow who has
read it.

Staff edit only announcements they could have written: every audience group inside their scope ("whole
union" only for whoever holds the root). They may also open, read-only, an announcement sent to their
whole scope (a branch officer and the union-wide ones): its page, its figures limited to their scope,
and 提醒未读 for their own unread. Anything else is 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for

from admin.blueprint import (
    FORM_ERRORS,
    Message,
    bp,
    current_staff,
    page_arg,
    permission_required,
    post_action,
    save_form,
)
from admin.charts import read_rate_chart
from admin.forms import TO_GROUPS, AnnouncementForm, EmptyForm
from backend.announcements import operations, reading
from backend.announcements.attachments import MAX_ATTACHMENTS, attachment_of, remove_attachment
from backend.announcements.editing import AnnouncementDraft, delete_draft, save_announcement
from backend.announcements.figures import (
    figures_by_announcement,
    figures_for_staff,
    figures_tree,
    unread_page,
)
from backend.announcements.models import STATUS_LABELS, Announcement, AnnouncementCategory, AnnouncementStatus
from backend.announcements.queries import (
    announcement_for_staff,
    announcement_for_viewer,
    figures_scope,
    staff_announcements,
)
from backend.db import to_local, utcnow
from backend.extensions import db
from backend.members.queries import group_tree
from backend.notifications.models import DELIVERY_STATE_LABELS
from backend.staff.permissions import Permission
from backend.uploads.models import TYPE_LABELS
from backend.uploads.storage import UploadRefused, human_size, max_upload_bytes, send_upload, staged_uploads

PER_PAGE = 20
UNREAD_PER_PAGE = 50
PERMISSION = Permission.manage_announcements


def attachments_budget() -> int:
    """What the files of one save may add up to: the request limit, less room for the typed text."""
    return max(int(current_app.config["MAX_CONTENT_LENGTH"]) - 1024 * 1024, max_upload_bytes())


def _form(announcement: Announcement | None = None) -> AnnouncementForm:
    staff = current_staff()
    form = AnnouncementForm()
    form.groups.set_tree(group_tree(staff.scope))
    if not staff.holds_whole_union:
        form.audience.choices = [TO_GROUPS]
    if announcement is None and request.method == "GET":
        # The usual audience: the whole union for whoever holds it, else the writer's own scope.
        form.audience.data = "union" if staff.holds_whole_union else "groups"
        form.groups.data = [] if staff.holds_whole_union else [staff.scope.id]
    form.attachments.description = (
        f"可一次选多个；{TYPE_LABELS}，每个不超过 {human_size(max_upload_bytes())}，"
        f"一次保存合计不超过 {human_size(attachments_budget())}，每条公告最多 {MAX_ATTACHMENTS} 个。"
        "保存后可在编辑页删除。"
    )
    if announcement is not None and request.method == "GET":
        form.title.data = announcement.title
        form.category.data = announcement.category.value
        form.body_html.data = announcement.body_html
        form.audience.data = "union" if announcement.whole_union else "groups"
        form.groups.data = [group.id for group in announcement.groups]
        form.pinned.data = announcement.pinned
        form.push.data = announcement.push
        local = to_local(announcement.publish_at)
        form.publish_at.data = local.replace(tzinfo=None) if local else None
    return form


def _draft(form: AnnouncementForm) -> AnnouncementDraft:
    return AnnouncementDraft(
        title=form.title.data or "",
        body_html=form.body_html.data or "",
        category=AnnouncementCategory(form.category.data),
        whole_union=form.audience.data == "union",
        group_ids=list(form.groups.data or []),
        pinned=bool(form.pinned.data),
        push=bool(form.push.data),
        publish_at=form.publish_at_utc(),
    )


def _save(form: AnnouncementForm, announcement: Announcement | None) -> Announcement:
    """The form and its new attachments, saved in the caller's transaction (no stray files)."""
    files = [(storage.stream, storage.filename) for storage in form.attachments.data or [] if storage]
    with staged_uploads(files) as staged:
        return save_announcement(announcement, _draft(form), staff=current_staff(), files=staged)


def _submit(form: AnnouncementForm, announcement: Announcement | None, done: str) -> Any:
    """新建 / 编辑: saved, the announcement's page opens with `done`; refused, the form shows why."""
    result = save_form(
        form,
        lambda: _save(form, announcement),
        errors=(*FORM_ERRORS, UploadRefused),
        field_for=lambda error: "attachments" if isinstance(error, UploadRefused) else None,
    )
    if result.saved and result.value is not None:
        flash(done, "success")
        return redirect(url_for("admin.announcement_detail", announcement_id=result.value.id))
    return _render_form(form, announcement, result.status)


def _render_form(form: AnnouncementForm, announcement: Announcement | None, status: int) -> Any:
    budget = attachments_budget()
    page = render_template(
        "admin/announcements/form.html",
        form=form,
        announcement=announcement,
        attachments_budget=budget,
        attachments_budget_text=human_size(budget),
    )
    return page, status


@bp.get("/announcements/")
@permission_required(PERMISSION)
def announcements_list() -> Any:
    staff = current_staff()
    status_value = request.args.get("status", "")
    status = AnnouncementStatus(status_value) if status_value in STATUS_LABELS else None
    query = staff_announcements(staff, status=status, include_read_only=True)
    pagination = db.paginate(query, page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template(
        "admin/announcements/list.html",
        pagination=pagination,
        announcements=pagination.items,
        figures=figures_for_staff(pagination.items, staff),
        managed={a.id for a in pagination.items if a.can_manage(staff)},
        status=status.value if status else "",
        statuses=STATUS_LABELS,
    )


@bp.route("/announcements/new", methods=["GET", "POST"])
@permission_required(PERMISSION)
def announcement_new() -> Any:
    return _submit(_form(), None, "公告已保存，请预览后发布")


@bp.route("/announcements/<int:announcement_id>/edit", methods=["GET", "POST"])
@permission_required(PERMISSION)
def announcement_edit(announcement_id: int) -> Any:
    announcement = announcement_for_staff(announcement_id, current_staff())
    if not announcement.is_editable:
        flash("公告已发布或已撤回，不能再修改", "warning")
        return redirect(url_for("admin.announcement_detail", announcement_id=announcement_id))
    return _submit(_form(announcement), announcement, "公告已保存")


@bp.get("/announcements/<int:announcement_id>")
@permission_required(PERMISSION)
def announcement_detail(announcement_id: int) -> Any:
    staff = current_staff()
    announcement = announcement_for_viewer(announcement_id, staff)
    within = figures_scope(announcement, staff)
    return render_template(
        "admin/announcements/detail.html",
        announcement=announcement,
        manage=within is None,
        figures=figures_by_announcement([announcement.id], within=within).get(announcement.id),
        action_form=EmptyForm(),
    )


def _action(announcement_id: int, verb: str, done: Message | Callable[[Any], Message]) -> Any:
    staff = current_staff()
    announcement = announcement_for_staff(announcement_id, staff)
    return post_action(
        lambda: getattr(operations, verb)(announcement, staff=staff),
        success=done,
        redirect_to=url_for("admin.announcement_detail", announcement_id=announcement_id),
    )


@bp.post("/announcements/<int:announcement_id>/publish")
@permission_required(PERMISSION)
def announcement_publish(announcement_id: int) -> Any:
    return _action(announcement_id, "publish", "公告已发布，会员的消息中心已收到通知")


@bp.post("/announcements/<int:announcement_id>/unschedule")
@permission_required(PERMISSION)
def announcement_unschedule(announcement_id: int) -> Any:
    return _action(announcement_id, "unschedule", "已取消定时发布，公告回到草稿")


def _withdrawn(withdrawal: operations.Withdrawal) -> str:
    return f"公告已撤回，{withdrawal.inboxes} 位会员的消息中心已更新（显示为已撤回，不再显示正文）"


@bp.post("/announcements/<int:announcement_id>/withdraw")
@permission_required(PERMISSION)
def announcement_withdraw(announcement_id: int) -> Any:
    return _action(announcement_id, "withdraw", _withdrawn)


@bp.get("/announcements/<int:announcement_id>/figures")
@permission_required(PERMISSION)
def announcement_figures(announcement_id: int) -> Any:
    staff = current_staff()
    announcement = announcement_for_viewer(announcement_id, staff)
    within = figures_scope(announcement, staff)
    tree = figures_tree(announcement, staff.scope, within=within)
    return render_template(
        "admin/announcements/figures.html",
        announcement=announcement,
        within=within,
        rows=tree.rows,
        total=tree.total,
        chart=read_rate_chart(tree.rows),
        unread=unread_page(announcement, page=page_arg(), per_page=UNREAD_PER_PAGE, within=within),
        state_labels=DELIVERY_STATE_LABELS,
    )


def _reminded(count: int) -> Message:
    if count:
        return f"已提醒 {count} 位未读会员"
    return "没有需要提醒的会员：未读的会员今天都已提醒过（每人每天最多提醒一次）", "warning"


@bp.post("/announcements/<int:announcement_id>/remind")
@permission_required(PERMISSION)
def announcement_remind(announcement_id: int) -> Any:
    staff = current_staff()
    announcement = announcement_for_viewer(announcement_id, staff)  # remind_unread narrows it to the scope
    return post_action(
        lambda: reading.remind_unread(announcement, staff=staff, now=utcnow()),
        success=_reminded,
        redirect_to=url_for("admin.announcement_figures", announcement_id=announcement_id),
    )


@bp.post("/announcements/<int:announcement_id>/delete")
@permission_required(PERMISSION)
def announcement_delete(announcement_id: int) -> Any:
    staff = current_staff()
    announcement = announcement_for_staff(announcement_id, staff)
    return post_action(
        lambda: delete_draft(announcement, staff=staff),
        success="草稿已删除",
        redirect_to=url_for("admin.announcements_list"),
        refused_to=url_for("admin.announcement_detail", announcement_id=announcement_id),
    )


# --- attachments -------------------------------------------------------------------------------


@bp.get("/announcements/<int:announcement_id>/attachments/<int:upload_id>")
@permission_required(PERMISSION)
def announcement_attachment(announcement_id: int, upload_id: int) -> Response:
    announcement = announcement_for_viewer(announcement_id, current_staff())
    # Office PCs are shared: no copy of a staff download may stay in the browser's cache.
    return send_upload(attachment_of(announcement, upload_id), shared_computer=True)


@bp.post("/announcements/<int:announcement_id>/attachments/<int:upload_id>/remove")
@permission_required(PERMISSION)
def announcement_attachment_remove(announcement_id: int, upload_id: int) -> Any:
    staff = current_staff()
    announcement = announcement_for_staff(announcement_id, staff)
    attachment_of(announcement, upload_id)  # another announcement's file is 404, whatever its state
    # Removed, back to editing; refused (no longer editable), to the announcement's page.
    return post_action(
        lambda: remove_attachment(announcement, upload_id, staff=staff),
        success="附件已删除",
        redirect_to=url_for("admin.announcement_edit", announcement_id=announcement_id),
        refused_to=url_for("admin.announcement_detail", announcement_id=announcement_id),
    )
