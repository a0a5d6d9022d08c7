"""WTForms' and Flask-WTF's built-in messages in Chinese, for every field and validator the library has.

WTForms ships a zh catalogue, but it misses some messages (the choice fields' "'6' is not a valid
choice for this field." is looked up under a plural id it does not have) and words others oddly;
Flask-WTF's CSRF messages are not translatable at all. Our own messages (in admin/forms.py) are written
in Chinese where the field is declared; these are what a field says when we gave it no message.
tests/admin/test_form_errors.py reads the installed libraries' sources and fails on a message missing here.
"""

from __future__ import annotations

from typing import Any

from flask_wtf.csrf import _FlaskFormCSRF
from wtforms.i18n import get_translations
from wtforms.validators import ValidationError

# msgid → Chinese. Plural messages are keyed by their singular id; placeholders are kept as they are.
WTFORMS_MESSAGES: dict[str, str] = {
    # fields
    "Not a valid choice.": "请从列表中选择",
    "'%(value)s' is not a valid choice for this field.": "所选的「%(value)s」不在可选范围内，请从列表中选择",
    "Invalid Choice: could not coerce.": "所选内容无效，请从列表中选择",
    "Invalid choice(s): one or more data inputs could not be coerced.": "所选内容无效，请从列表中选择",
    "Choices cannot be None.": "没有可选的内容",
    "Not a valid datetime value.": "时间格式不正确，请按 2024-05-01 08:30 的格式填写",
    "Not a valid date value.": "日期格式不正确，请按 2024-05-01 的格式填写",
    "Not a valid time value.": "时间格式不正确，请按 08:30 的格式填写",
    "Not a valid week value.": "周的格式不正确",
    "Not a valid integer value.": "请填写整数",
    "Not a valid decimal value.": "请填写数字",
    "Not a valid float value.": "请填写数字",
    # validators
    "Invalid field name '%s'.": "表单设置有误（字段 %s 不存在），请联系系统管理员",
    "Field must be equal to %(other_name)s.": "与「%(other_label)s」不一致",  # the label, not the name
    "This field is required.": "此项必填",
    "Field must be at least %(min)d character long.": "至少填写 %(min)d 个字",
    "Field cannot be longer than %(max)d character.": "最多 %(max)d 个字",
    "Field must be exactly %(max)d character long.": "应为 %(max)d 个字",
    "Field must be between %(min)d and %(max)d characters long.": "应为 %(min)d 到 %(max)d 个字",
    "Number must be at least %(min)s.": "不能小于 %(min)s",
    "Number must be at most %(max)s.": "不能大于 %(max)s",
    "Number must be between %(min)s and %(max)s.": "应在 %(min)s 到 %(max)s 之间",
    "Date must be at least %(min)s.": "日期不能早于 %(min)s",
    "Date must be at most %(max)s.": "日期不能晚于 %(max)s",
    "Date must be between %(min)s and %(max)s.": "日期应在 %(min)s 到 %(max)s 之间",
    "Invalid input.": "填写的内容不正确",
    "Invalid email address.": "邮箱地址不正确",
    "Invalid IP address.": "IP 地址不正确",
    "Invalid Mac address.": "网卡地址不正确",
    "Invalid URL.": "网址不正确",
    "Invalid UUID.": "编号格式不正确",
    "Invalid value, must be one of: %(values)s.": "取值应为以下之一：%(values)s",
    "Invalid value, can't be any of: %(values)s.": "取值不能是以下任何一个：%(values)s",
    "This field cannot be edited.": "此项不能修改",
    "This field is disabled and cannot have a value.": "此项已停用，不能填写",
    # wtforms.csrf (Flask-WTF uses its own, below)
    "Invalid CSRF Token.": "页面已过期或来源不明，请刷新页面后重新提交",
    "CSRF token missing.": "页面已过期或来源不明，请刷新页面后重新提交",
    "CSRF failed.": "页面已过期或来源不明，请刷新页面后重新提交",
    "CSRF token expired.": "页面已过期，请刷新页面后重新提交",
    # flask_wtf.file
    "File does not have an approved extension.": "不支持这种文件类型",
    "File does not have an approved extension: {extensions}": "只支持以下类型的文件：{extensions}",
}

# Flask-WTF's validate_csrf raises these without gettext.
CSRF_MESSAGES: dict[str, str] = {
    "The CSRF token is missing.": "页面已过期或来源不明，请刷新页面后重新提交",
    "The CSRF session token is missing.": "登录已过期，请刷新页面后重新提交",
    "The CSRF token has expired.": "页面已过期，请刷新页面后重新提交",
    "The CSRF token is invalid.": "页面已过期或来源不明，请刷新页面后重新提交",
    "The CSRF tokens do not match.": "页面已过期或来源不明，请刷新页面后重新提交",
}
CSRF_FALLBACK = "页面已过期或来源不明，请刷新页面后重新提交"


def _file_size_message(text: str) -> str | None:
    # flask_wtf.file.FileSize builds its message with an f-string, so it arrives already filled in.
    prefix, suffix = "File must be between ", " bytes."
    if text.startswith(prefix) and text.endswith(suffix):
        low, _, high = text[len(prefix) : -len(suffix)].partition(" and ")
        return f"文件大小应在 {low} 到 {high} 字节之间"
    return None


class ChineseTranslations:
    """The `gettext`/`ngettext` WTForms asks for a field's messages: ours, then WTForms' own zh."""

    def __init__(self) -> None:
        self._fallback = get_translations(["zh"])

    def gettext(self, string: str) -> str:
        return WTFORMS_MESSAGES.get(string) or _file_size_message(string) or self._fallback.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return WTFORMS_MESSAGES.get(singular) or self._fallback.ngettext(singular, plural, n)


TRANSLATIONS = ChineseTranslations()


class ChineseCSRF(_FlaskFormCSRF):
    """Flask-WTF's form CSRF check, saying why in Chinese (CSRFProtect refuses most such requests
    before a view runs; this is the form's own check, for a form that is validated anyway)."""

    def validate_csrf_token(self, form: Any, field: Any) -> None:
        try:
            super().validate_csrf_token(form, field)
        except ValidationError as error:
            message = error.args[0] if error.args else ""
            raise ValidationError(CSRF_MESSAGES.get(message, CSRF_FALLBACK)) from error
