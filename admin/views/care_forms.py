"""The care pages' forms (Chinese labels and messages)."""

from __future__ import annotations

from typing import Any

from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from admin.forms import ChineseDateField, Form, GroupTreeField
from backend.care.models import CATEGORY_LABELS, FREQUENCY_LABELS

YUAN = Regexp(r"^\d{1,8}(\.\d{1,2})?$", message="请填写金额（元），如 300 或 299.50")
CATEGORY_CHOICES = [SelectChoice(value, label) for value, label in CATEGORY_LABELS.items()]
FREQUENCY_CHOICES = [SelectChoice(value, label) for value, label in FREQUENCY_LABELS.items()]


class PolicyRuleForm(Form):
    standard = TextAreaField("标准说明", validators=[Optional(), Length(max=500, message="最多 500 字")])
    max_amount = StringField("最高金额（元）", validators=[DataRequired("请填写最高金额"), YUAN])
    frequency = SelectField("频次", choices=FREQUENCY_CHOICES)
    cash_allowed = BooleanField("允许发放现金（节日慰问不得发放现金或购物卡）")
    relatives = StringField(
        "计入的亲属",
        validators=[Optional(), Length(max=200)],
        description="丧事慰问填写，如：配偶、父母、子女",
    )
    budget = StringField("年度预算（元）", validators=[Optional(), YUAN], description="不填则不限")


class PolicyYearForm(Form):
    festival_cap = StringField(
        "节日慰问每人每年上限（元）", validators=[Optional(), YUAN], description="不填则不限"
    )
    warn_percent = IntegerField(
        "达到上限的百分之多少时提醒",
        validators=[InputRequired("请填写提醒比例"), NumberRange(1, 100, "应在 1 到 100 之间")],
        default=80,
    )


class ScheduleForm(Form):
    scheduled_on = ChineseDateField("走访日期", validators=[DataRequired("请选择走访日期")])
    visitors = StringField("走访人", validators=[DataRequired("请填写走访人"), Length(max=200)])


class CloseForm(Form):
    reason = StringField("关闭原因", validators=[DataRequired("请填写关闭原因"), Length(max=200)])


class VisitForm(Form):
    member_id = HiddenField()
    request_id = HiddenField()
    category = SelectField("慰问类别", choices=CATEGORY_CHOICES)
    visited_on = ChineseDateField("走访日期", validators=[DataRequired("请选择走访日期")])
    event_on = ChineseDateField(
        "事件日期",
        validators=[Optional()],
        description="住院、生育、丧事等按每次事件计的慰问必填（如入院日期）；由申请登记时为申请的日期",
    )
    visitors = StringField("走访人", validators=[DataRequired("请填写走访人"), Length(max=200)])
    gift = StringField("慰问品", validators=[Optional(), Length(max=200)])
    amount = StringField("金额（元）", validators=[InputRequired("请填写金额"), YUAN])
    is_cash = BooleanField("发放现金")
    notes = TextAreaField("备注", validators=[Optional(), Length(max=1000)])
    photos = MultipleFileField("照片", description="JPG、PNG 图片，可多选")
    override_reason = TextAreaField(
        "例外原因",
        validators=[Optional(), Length(max=300)],
        description="仅当这次慰问不符合关怀标准、又确有必要时填写；会记入审计日志并显示在慰问记录上",
    )


class CampaignForm(Form):
    name = StringField("活动名称", validators=[DataRequired("请填写活动名称"), Length(max=100)])
    festival = StringField("节日", validators=[DataRequired("请填写节日"), Length(max=50)])
    visit_on = ChineseDateField("发放日期", validators=[DataRequired("请选择发放日期")])
    gift = StringField("慰问品", validators=[DataRequired("请填写慰问品"), Length(max=200)])
    amount = StringField("每人金额（元）", validators=[InputRequired("请填写金额"), YUAN])
    group_ids = GroupTreeField("面向的组织")

    def validate_group_ids(self, field: Any) -> None:
        if not field.data:
            raise ValidationError("请选择至少一个组织")
