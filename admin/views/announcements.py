"""公告通知: write, preview, publish (now or at a set time), withdraw, and follow who has read it.

Staff see and edit only announcements they could have written: every audience group inside their
scope ("whole union" only for whoever holds the root). Anything else is 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateTimeLocalField
from wtforms.validators import DataRequired, Length, Optional

from admin.blueprint import FORM_ERRORS, bp, current_staff, permission_required
from admin.forms import EmptyForm, Form, group_choices
from backend.announcements import operations
from backend.announcements.models import (
    CATEGORY_LABELS,
    STATUS_LABELS,
    Announcement,
    AnnouncementCategory,
    AnnouncementStatus,
)
from backend.announcements.queries import (
    announcement_for_staff,
    figures_by_announcement,
    figures_by_group,
    staff_announcements,
    unread_recipients,
)
from backend.announcements.sanitize import BODY_HINT
from backend.db import SHANGHAI, to_local, unit_of_work, utcnow
from backend.extensions import db
from backend.members.models import Group
from backend.members.queries import group_tree
from backend.notifications.models import DELIVERY_STATE_LABELS

PER_PAGE = 20
UNREAD_SHOWN = 500
PERMISSION = "manage_announcements"
TO_GROUPS = SelectChoice("groups", "指定组织（含其下级组织）")
TO_UNION = SelectChoice("union", "全体会员")


class AnnouncementForm(Form):
    title = StringField(
        "标题", validators=[DataRequired("请填写标题"), Length(max=100, message="标题不能超过 100 个字")]
    )
    category = SelectField(
        "类别", choices=[SelectChoice(v, label) for v, label in CATEGORY_LABELS.items()], default="notice"
    )
    body_html = TextAreaField("正文", validators=[DataRequired("请填写正文")], description=BODY_HINT)
    audience = RadioField("发送范围", choices=[TO_GROUPS, TO_UNION], default="groups")
    groups = SelectMultipleField("组织", coerce=int, description="按住 Ctrl 可多选；选分会即包含其下所有小组")
    pinned = BooleanField("置顶")
    push = BooleanField("同时发送微信订阅消息", default=True)
    publish_at = DateTimeLocalField(
        "定时发布",
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
        description="北京时间；不填则保存为草稿，在预览页点「立即发布」",
    )

    def publish_at_utc(self) -> datetime | None:
        value = self.publish_at.data
        return value.replace(tzinfo=SHANGHAI) if value else None


def _form(announcement: Announcement | None = None) -> AnnouncementForm:
    staff = current_staff()
    form = AnnouncementForm()
    form.groups.choices = group_choices(group_tree(staff.scope))
    if staff.scope.parent_id is not None:
        form.audience.choices = [TO_GROUPS]
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


def _content(form: AnnouncementForm) -> dict[str, Any]:
    whole_union = form.audience.data == "union"
    group_ids = [] if whole_union else list(form.groups.data or [])
    groups = db.session.scalars(sa.select(Group).where(Group.id.in_(group_ids))).all() if group_ids else []
    return {
        "title": form.title.data or "",
        "body_html": form.body_html.data or "",
        "category": AnnouncementCategory(form.category.data),
        "whole_union": whole_union,
        "groups": groups,
        "pinned": bool(form.pinned.data),
        "push": bool(form.push.data),
    }


def _save_timing(announcement: Announcement, form: AnnouncementForm) -> None:
    staff = current_staff()
    publish_at = form.publish_at_utc()
    if publish_at is not None:
        if publish_at != announcement.publish_at:
            operations.schedule(announcement, staff=staff, publish_at=publish_at)
    elif announcement.status == AnnouncementStatus.scheduled:
        operations.unschedule(announcement, staff=staff)


def _render_form(form: AnnouncementForm, announcement: Announcement | None, status: int) -> Any:
    return render_template("admin/announcements/form.html", form=form, announcement=announcement), status


@bp.get("/announcements/")
@permission_required(PERMISSION)
def announcements_list() -> Any:
    staff = current_staff()
    status_value = request.args.get("status", "")
    status = AnnouncementStatus(status_value) if status_value in STATUS_LABELS else None
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    pagination = db.paginate(
        staff_announcements(staff, status=status), page=page, per_page=PER_PAGE, error_out=False
    )
    figures = figures_by_announcement([a.id for a in pagination.items])
    return render_template(
        "admin/announcements/list.html",
        pagination=pagination,
        announcements=pagination.items,
        figures=figures,
        status=status.value if status else "",
        statuses=STATUS_LABELS,
    )


@bp.route("/announcements/new", methods=["GET", "POST"])
@permission_required(PERMISSION)
def announcement_new() -> Any:
    form = _form()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                announcement = operations.create_announcement(staff=current_staff(), **_content(form))
                _save_timing(announcement, form)
                announcement_id = announcement.id
        except FORM_ERRORS as error:
            form.apply_error(error)
            return _render_form(form, None, error.status)
        flash("公告已保存，请预览后发布", "success")
        return redirect(url_for("admin.announcement_detail", announcement_id=announcement_id))
    return _render_form(form, None, 422 if form.errors else 200)


@bp.route("/announcements/<int:announcement_id>/edit", methods=["GET", "POST"])
@permission_required(PERMISSION)
def announcement_edit(announcement_id: int) -> Any:
    announcement = announcement_for_staff(announcement_id, current_staff())
    if not announcement.is_editable:
        flash("公告已发布或已撤回，不能再修改", "warning")
        return redirect(url_for("admin.announcement_detail", announcement_id=announcement_id))
    form = _form(announcement)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                operations.update_announcement(announcement, staff=current_staff(), **_content(form))
                _save_timing(announcement, form)
        except FORM_ERRORS as error:
            form.apply_error(error)
            db.session.refresh(announcement)
            return _render_form(form, announcement, error.status)
        flash("公告已保存", "success")
        return redirect(url_for("admin.announcement_detail", announcement_id=announcement_id))
    return _render_form(form, announcement, 422 if form.errors else 200)


@bp.get("/announcements/<int:announcement_id>")
@permission_required(PERMISSION)
def announcement_detail(announcement_id: int) -> Any:
    announcement = announcement_for_staff(announcement_id, current_staff())
    return render_template(
        "admin/announcements/detail.html",
        announcement=announcement,
        figures=figures_by_announcement([announcement.id]).get(announcement.id),
        action_form=EmptyForm(),
    )


def _action(announcement_id: int, verb: str, done: str) -> Any:
    staff = current_staff()
    announcement = announcement_for_staff(announcement_id, staff)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            getattr(operations, verb)(announcement, staff=staff)
    except FORM_ERRORS as error:
        flash(error.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("admin.announcement_detail", announcement_id=announcement_id))


@bp.post("/announcements/<int:announcement_id>/publish")
@permission_required(PERMISSION)
def announcement_publish(announcement_id: int) -> Any:
    return _action(announcement_id, "publish", "公告已发布，会员的消息中心已收到通知")


@bp.post("/announcements/<int:announcement_id>/unschedule")
@permission_required(PERMISSION)
def announcement_unschedule(announcement_id: int) -> Any:
    return _action(announcement_id, "unschedule", "已取消定时发布，公告回到草稿")


@bp.post("/announcements/<int:announcement_id>/withdraw")
@permission_required(PERMISSION)
def announcement_withdraw(announcement_id: int) -> Any:
    return _action(announcement_id, "withdraw", "公告已撤回，会员不再能看到它")


@bp.get("/announcements/<int:announcement_id>/figures")
@permission_required(PERMISSION)
def announcement_figures(announcement_id: int) -> Any:
    announcement = announcement_for_staff(announcement_id, current_staff())
    rows, total = figures_by_group(announcement)
    unread = db.session.execute(unread_recipients(announcement).limit(UNREAD_SHOWN)).all()
    return render_template(
        "admin/announcements/figures.html",
        announcement=announcement,
        rows=rows,
        total=total,
        unread=unread,
        unread_shown=UNREAD_SHOWN,
        state_labels=DELIVERY_STATE_LABELS,
    )


@bp.post("/announcements/<int:announcement_id>/remind")
@permission_required(PERMISSION)
def announcement_remind(announcement_id: int) -> Any:
    staff = current_staff()
    announcement = announcement_for_staff(announcement_id, staff)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            reminded = operations.remind_unread(announcement, staff=staff, now=utcnow())
    except FORM_ERRORS as error:
        flash(error.message, "error")
    else:
        if reminded:
            flash(f"已提醒 {reminded} 位未读会员", "success")
        else:
            flash("没有需要提醒的会员：未读的会员今天都已提醒过（每人每天最多提醒一次）", "warning")
    return redirect(url_for("admin.announcement_figures", announcement_id=announcement_id))
