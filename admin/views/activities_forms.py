"""The activity forms (Flask-WTF, CSRF on every POST): the activity itself, a reason, a member to add."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateTimeLocalField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from admin.forms import TO_GROUPS, TO_UNION, Form, GroupTreeField
from backend.activities.fields import FIELD_TYPE_LABELS
from backend.activities.models import ALLOCATION_LABELS, CATEGORY_LABELS, Activity
from backend.announcements.sanitize import BODY_HINT
from backend.db import SHANGHAI, to_local

TYPES_BY_LABEL = {label: kind for kind, label in FIELD_TYPE_LABELS.items()}
FIELDS_HINT = (
    "每行一项：名称|类型（文字、数字或单选）|必填或选填|选项（单选时用逗号分隔）。"
    "例如：衣服尺码|单选|必填|小号,中号,大号"
)


def _when(label: str, hint: str = "北京时间", required: bool = True) -> DateTimeLocalField:
    checks = [DataRequired(f"请填写{label}")] if required else [Optional()]
    return DateTimeLocalField(label, format="%Y-%m-%dT%H:%M", validators=checks, description=hint)


def parse_form_fields(text: str) -> list[dict[str, Any]]:
    """The form-fields box, one field per line, as activities.fields.clean_fields takes them."""
    fields = []
    for n, line in enumerate((line.strip() for line in (text or "").splitlines() if line.strip()), start=1):
        parts = [part.strip() for part in line.replace("｜", "|").split("|")]
        label, kind, need, choices = [*parts, "", "", "", ""][:4]
        if kind and kind not in TYPES_BY_LABEL:
            raise ValidationError(f"第 {n} 行的类型应为 文字、数字 或 单选")
        fields.append(
            {
                "key": f"f{n}",
                "label": label,
                "type": TYPES_BY_LABEL.get(kind or "文字"),
                "required": need == "必填",
                "choices": [c for c in choices.replace("，", ",").split(",") if c.strip()],
            }
        )
    return fields


def format_form_fields(fields: list[dict[str, Any]]) -> str:
    lines = []
    for field in fields:
        parts = [field["label"], FIELD_TYPE_LABELS[field["type"]], "必填" if field["required"] else "选填"]
        if field.get("choices"):
            parts.append(",".join(field["choices"]))
        lines.append("|".join(parts))
    return "\n".join(lines)


class ActivityForm(Form):
    title = StringField("活动名称", validators=[DataRequired("请填写活动名称"), Length(max=100)])
    category = SelectField(
        "类别",
        choices=[SelectChoice(v, label) for v, label in CATEGORY_LABELS.items()],
        default="sports_culture",
    )
    description_html = TextAreaField("活动介绍", description=BODY_HINT)
    cover = FileField("封面图片", description="JPG 或 PNG；不选则保留原来的封面")
    location = StringField("地点", validators=[DataRequired("请填写地点"), Length(max=200)])
    starts_at = _when("开始时间")
    ends_at = _when("结束时间")
    registration_opens_at = _when("报名开始")
    registration_closes_at = _when("报名截止", "北京时间；抽签活动在截止后自动抽签")
    cancel_deadline = _when("取消报名截止", "北京时间；不填则活动开始前都可以取消", required=False)
    capacity = IntegerField(
        "名额（人）",
        validators=[Optional(), NumberRange(min=1, max=100000, message="名额应在 1 到 100000 之间")],
        description="按人数计：会员本人加同行人各占一个名额；不填为不限名额",
    )
    max_companions = IntegerField(
        "最多可带同行人",
        default=0,
        validators=[NumberRange(min=0, max=10, message="同行人数应在 0 到 10 之间")],
    )
    allocation = RadioField(
        "名额分配",
        choices=[SelectChoice(v, label) for v, label in ALLOCATION_LABELS.items()],
        default="first_come",
    )
    waitlist_enabled = BooleanField("名额满后可以候补", default=True)
    checkin_required = BooleanField("需要现场签到", default=True)
    audience = RadioField("面向", choices=[TO_GROUPS, TO_UNION], default="groups")
    groups = GroupTreeField("组织", description="勾选面向的组织，可多选；选分会即包含其下所有小组")
    form_fields = TextAreaField("报名信息项", description=FIELDS_HINT)

    def validate_form_fields(self, field: Any) -> None:
        self.parsed_fields = parse_form_fields(field.data or "")

    def times(self) -> dict[str, datetime | None]:
        names = ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at", "cancel_deadline")
        out: dict[str, datetime | None] = {}
        for name in names:
            value = getattr(self, name).data
            out[name] = value.replace(tzinfo=SHANGHAI) if value else None
        return out

    def fill(self, activity: Activity) -> None:
        for name in (
            "title",
            "location",
            "capacity",
            "max_companions",
            "waitlist_enabled",
            "checkin_required",
        ):
            getattr(self, name).data = getattr(activity, name)
        self.category.data = activity.category.value
        self.allocation.data = activity.allocation.value
        self.description_html.data = activity.description_html
        for name in (
            "starts_at",
            "ends_at",
            "registration_opens_at",
            "registration_closes_at",
            "cancel_deadline",
        ):
            local = to_local(getattr(activity, name))
            getattr(self, name).data = local.replace(tzinfo=None) if local else None
        self.audience.data = "union" if activity.whole_union else "groups"
        self.groups.data = [group.id for group in activity.groups]
        self.form_fields.data = format_form_fields(activity.form_fields)


class ReasonForm(Form):
    reason = StringField("原因", validators=[DataRequired("请填写原因"), Length(max=200)])


class AddMemberForm(Form):
    employee_no = StringField("工号", validators=[DataRequired("请填写工号"), Length(max=32)])
    companions = IntegerField("同行人数", default=0, validators=[NumberRange(min=0, max=10)])
    reason = StringField("原因", validators=[DataRequired("请填写原因"), Length(max=200)])
