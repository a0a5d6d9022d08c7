"""The admin's forms (Flask-WTF: every POST carries a CSRF token). Labels and messages in Chinese."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, MultipleFileField
from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateTimeLocalField, Field
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from admin.form_messages import TRANSLATIONS, ChineseCSRF
from backend.announcements.models import CATEGORY_LABELS
from backend.announcements.sanitize import BODY_HINT
from backend.db import SHANGHAI
from backend.db import today as local_today
from backend.errors import DomainError
from backend.members.models import Group
from backend.staff.models import ROLE_LABELS
from backend.staff.operations import MIN_PASSWORD_LENGTH


class Form(FlaskForm):
    class Meta:
        # WTForms' and Flask-WTF's own messages ("Not a valid choice") in Chinese (admin/form_messages.py);
        # Flask-WTF's translations would need Flask-Babel.
        locales = ("zh",)
        csrf_class = ChineseCSRF

        def get_translations(self, form: Any) -> Any:
            return TRANSLATIONS

    # The order the page shows the fields in, when it is not the order they are declared in.
    field_order: tuple[str, ...] = ()

    def invalid_fields(self) -> list[Field]:
        """The fields with errors, in the order the page shows them (the error summary's order)."""
        names = [*self.field_order, *(name for name in self._fields if name not in self.field_order)]
        return [self[name] for name in names if name != "csrf_token" and self[name].errors]

    @property
    def refused(self) -> bool:
        """Sent and sent back: a field's error or the form's own (an operation's refusal)."""
        return bool(self.form_errors) or any(field.errors for field in self)

    def wants_focus(self, field: Field, asked: bool = False) -> bool:
        """Whether `field` gets the cursor (autofocus): the first field to fix on a refused form, else the
        field the page asked for. One field at most, so the browser has no two to choose from."""
        invalid = self.invalid_fields()
        if invalid:
            return field is invalid[0]
        return asked and not self.refused

    def must_repick(self, field: Field) -> bool:
        """A file field on a refused form that had a file: the browser has dropped it and nothing was
        kept, so the page says to choose it again."""
        data = field.data if isinstance(field.data, list) else [field.data]
        return self.refused and any(isinstance(item, FileStorage) and item.filename for item in data)

    def apply_error(self, error: DomainError, field: str | None = None) -> None:
        """Show an operation's refusal on the form: its field errors, or its message on `field`."""
        placed = False
        for name, messages in (error.errors or {}).items():
            target = self._fields.get(name)
            if target is not None:
                target.errors = [*target.errors, *messages]
                placed = True
        if not placed:
            target = self._fields.get(field) if field else None
            if target is not None:
                target.errors = [*target.errors, error.message]
            else:
                self.form_errors.append(error.message)


class ChineseDateField(DateField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("日期格式不正确，请按 2024-05-01 的格式填写") from exc


class GroupSelectField(SelectField):
    """A group from the staff member's scope; the view fills `choices` from group_tree()."""

    def __init__(self, label: str, **kwargs: Any) -> None:
        super().__init__(label, coerce=int, **kwargs)

    def pre_validate(self, form: Any) -> None:
        if self.data not in {choice.value for choice in self.choices or []}:
            raise ValidationError("所选组织不存在或不在您负责的范围内，请从列表中选择")


def group_choices(tree: list[tuple[Group, int]]) -> list[SelectChoice]:
    return [SelectChoice(group.id, "　" * depth + group.name) for group, depth in tree]  # type: ignore[arg-type]


class GroupTreeField(SelectMultipleField):
    """Groups ticked in a tree of checkboxes (the template indents each by its depth); `set_tree` fills
    the choices from group_tree(). Unknown ids fail validation like any multi-select's."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label: str, **kwargs: Any) -> None:
        super().__init__(label, coerce=int, **kwargs)
        self.depths: dict[int, int] = {}

    def set_tree(self, tree: list[tuple[Group, int]]) -> None:
        self.choices = [SelectChoice(group.id, group.name) for group, _ in tree]  # type: ignore[arg-type]
        self.depths = {group.id: depth for group, depth in tree}


def not_in_future(form: Any, field: Any) -> None:
    if field.data and field.data > local_today():
        raise ValidationError("日期不能晚于今天")  # WTForms 3 lets a bare ValueError escape: a 500


# --- login -------------------------------------------------------------------------------------


class LoginForm(Form):
    username = StringField("登录名", validators=[DataRequired("请填写登录名"), Length(max=50)])
    password = PasswordField("密码", validators=[DataRequired("请填写密码"), Length(max=200)])


class EmptyForm(Form):
    """Buttons that only need the CSRF token (logout, delete)."""


# --- members -----------------------------------------------------------------------------------


class MemberForm(Form):
    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=50, message="姓名太长")])
    employee_no = StringField(
        "工号", validators=[DataRequired("请填写工号"), Length(max=32, message="工号最多 32 位")]
    )
    phone = StringField(
        "手机号",
        validators=[Optional(), Regexp(r"^1\d{10}$", message="请填写 11 位手机号码")],
        description="可不填",
    )
    birthday = ChineseDateField("生日", validators=[Optional(), not_in_future], description="可不填")
    joined_on = ChineseDateField(
        "入会日期", validators=[Optional(), not_in_future], description="不填则为今天"
    )
    retires_on = ChineseDateField(
        "退休日期", validators=[Optional()], description="可不填；填写后，退休前会列入关怀提醒"
    )


class EditMemberForm(MemberForm):
    clear_phone = BooleanField("删除手机号（不再保存这位会员的手机号）")


class NewMemberForm(MemberForm):
    group_id = GroupSelectField("所属组织", validators=[DataRequired("请选择所属组织")])

    field_order = ("name", "employee_no", "phone", "group_id", "birthday", "joined_on", "retires_on")


class ChangeGroupForm(Form):
    group_id = GroupSelectField("转入组织", validators=[DataRequired("请选择转入的组织")])
    reason = StringField(
        "转会原因", validators=[DataRequired("请填写转会原因"), Length(max=200, message="最多 200 字")]
    )


class MemberStatusForm(Form):
    reason = StringField("原因", validators=[Optional(), Length(max=200, message="最多 200 字")])


# --- groups ------------------------------------------------------------------------------------


class GroupNameForm(Form):
    name = StringField(
        "组织名称", validators=[DataRequired("请填写组织名称"), Length(max=100, message="最多 100 字")]
    )


# --- join requests -----------------------------------------------------------------------------


class ApproveJoinRequestForm(Form):
    group_id = GroupSelectField("编入组织", validators=[DataRequired("请选择编入的组织")])
    comment = StringField("备注", validators=[Optional(), Length(max=200, message="最多 200 字")])


class RejectJoinRequestForm(Form):
    comment = TextAreaField(
        "不通过的原因",
        validators=[DataRequired("请填写不通过的原因"), Length(max=200, message="最多 200 字")],
        description="申请人会在小程序里看到这段话",
    )


# --- staff accounts ----------------------------------------------------------------------------

ROLE_CHOICES = [SelectChoice(value, label) for value, label in ROLE_LABELS.items()]
PASSWORD_HINT = f"至少 {MIN_PASSWORD_LENGTH} 位"


class StaffEditForm(Form):
    display_name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=50)])
    role = SelectField("角色", choices=ROLE_CHOICES, validators=[DataRequired("请选择角色")])
    scope_group_id = GroupSelectField("负责范围", validators=[DataRequired("请选择负责范围")])
    is_enabled = BooleanField("启用（取消勾选即停用，该账号会立即退出登录）")
    member_employee_no = StringField(
        "本人工号（选填）",
        validators=[Optional(), Length(max=50)],
        description="使用这个账号的人在会员名册里的工号。填写后，这个账号不能审批本人的困难帮扶申请；留空即不对应",
    )
    # Set by the page that asks "确定停用…吗？": the second submission of the same form says yes.
    confirm_disable = HiddenField()


class PasswordForm(Form):
    password = PasswordField(
        "新密码",
        validators=[
            DataRequired("请填写密码"),
            Length(min=MIN_PASSWORD_LENGTH, max=200, message=f"密码至少 {MIN_PASSWORD_LENGTH} 位"),
        ],
        description=PASSWORD_HINT,
    )
    confirm = PasswordField(
        "再输入一次",
        validators=[DataRequired("请再输入一次密码"), EqualTo("password", "两次输入的密码不一致")],
    )


class StaffCreateForm(PasswordForm):
    username = StringField(
        "登录名",
        validators=[
            DataRequired("请填写登录名"),
            Length(max=50),
            Regexp(r"^[A-Za-z0-9_.-]+$", message="登录名只能用英文字母、数字和 _ . -"),
        ],
    )
    display_name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=50)])
    role = SelectField("角色", choices=ROLE_CHOICES, validators=[DataRequired("请选择角色")])
    scope_group_id = GroupSelectField("负责范围", validators=[DataRequired("请选择负责范围")])

    field_order = ("username", "display_name", "role", "scope_group_id", "password", "confirm")

    def ordered_fields(self) -> list[Any]:
        return [self[name] for name in self.field_order]


# --- roster ------------------------------------------------------------------------------------


class RosterUploadForm(Form):
    file = FileField(
        "名册文件",
        validators=[
            FileRequired("请选择要上传的文件"),
            FileAllowed(["xlsx", "csv"], "只支持 Excel（.xlsx）或 CSV 文件"),
        ],
        description="Excel（.xlsx）或 CSV，第一行为表头：姓名、工号、手机号、所属组织、生日、入会日期",
    )


class RosterConfirmForm(Form):
    upload_id = HiddenField(validators=[DataRequired(), Length(max=64)])


# --- announcements -----------------------------------------------------------------------------

TO_GROUPS = SelectChoice("groups", "指定组织（含其下级组织）")
TO_UNION = SelectChoice("union", "全体会员")


# Shown instead of BODY_HINT once admin/static/admin/editor.js has mounted the editor.
EDITOR_HINT = (
    "用工具栏设置小标题、加粗、列表、引用和链接；从 Word 或网页粘贴的文字会保留这些格式。"
    "本地的图片和文件请用下方「添加附件」。保存时会去掉脚本等不安全的内容，保存后在预览页看效果。"
)


class AnnouncementForm(Form):
    editor_hint = EDITOR_HINT
    title = StringField(
        "标题", validators=[DataRequired("请填写标题"), Length(max=100, message="标题不能超过 100 个字")]
    )
    category = SelectField(
        "类别", choices=[SelectChoice(v, label) for v, label in CATEGORY_LABELS.items()], default="notice"
    )
    body_html = TextAreaField("正文", validators=[DataRequired("请填写正文")], description=BODY_HINT)
    audience = RadioField("发送范围", choices=[TO_GROUPS, TO_UNION], default="groups")
    groups = GroupTreeField("组织", description="勾选要发送的组织，可多选；选分会即包含其下所有小组")
    pinned = BooleanField("置顶")
    push = BooleanField("同时发送微信订阅消息", default=True)
    publish_at = DateTimeLocalField(
        "定时发布",
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
        description="北京时间；不填则保存为草稿，在预览页点「立即发布」",
    )
    # Checked by content in backend/uploads (type and size), not by the names the browser sends.
    attachments = MultipleFileField("添加附件")

    def publish_at_utc(self) -> datetime | None:
        value = self.publish_at.data
        return value.replace(tzinfo=SHANGHAI) if value else None


# --- my password, the audit log ----------------------------------------------------------------


class ChangePasswordForm(PasswordForm):
    current_password = PasswordField("当前密码", validators=[DataRequired("请填写当前密码"), Length(max=200)])


class AuditFilterForm(Form):
    """The 审计日志 filters: read from the query string (a GET form, so no CSRF token)."""

    class Meta:
        csrf = False

    staff_id = SelectField("操作人", default="")  # choices: the view fills them from the viewer's scope
    action = SelectField("操作", default="")
    object_type = SelectField("对象类型", default="")
    object_id = StringField(
        "对象编号", validators=[Optional(), Regexp(r"^\d{1,9}$", message="对象编号应为数字")]
    )
    date_from = ChineseDateField("开始日期", validators=[Optional()])
    date_to = ChineseDateField("结束日期", validators=[Optional()])

    def validate_date_from(self, field: Any) -> None:
        _plausible_date(field.data)

    def validate_date_to(self, field: Any) -> None:
        _plausible_date(field.data)
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("结束日期不能早于开始日期")


def _plausible_date(value: date | None) -> None:
    # A mistyped year (0001, 9999) would overflow the conversion to a moment in time.
    if value is not None and not date(2000, 1, 1) <= value <= date(2099, 12, 31):
        raise ValidationError("请填写 2000 年到 2099 年之间的日期")
