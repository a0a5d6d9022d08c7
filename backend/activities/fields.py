"""Custom form fields of an activity (T-shirt size, dietary needs …) and the answers to them (pure)."""

from __future__ import annotations

import re
from typing import Any

from backend.errors import ValidationFailed

FIELD_TYPES = ("text", "number", "choice")
FIELD_TYPE_LABELS = {"text": "文字", "number": "数字", "choice": "单选"}
KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_FIELDS = 10
MAX_TEXT = 200


def clean_fields(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The form fields as stored: each {key, label, type, required[, choices]}; 422 when malformed."""
    if len(raw) > MAX_FIELDS:
        raise ValidationFailed(errors={"form_fields": [f"最多 {MAX_FIELDS} 个报名信息项"]})
    cleaned, keys = [], set()
    for index, field in enumerate(raw, start=1):
        key = str(field.get("key") or f"f{index}").strip()
        label = str(field.get("label") or "").strip()[:50]
        kind = str(field.get("type") or "text")
        if not KEY.match(key) or key in keys or not label or kind not in FIELD_TYPES:
            raise ValidationFailed(errors={"form_fields": [f"第 {index} 项的名称、编号或类型不正确"]})
        keys.add(key)
        item: dict[str, Any] = {
            "key": key,
            "label": label,
            "type": kind,
            "required": bool(field.get("required")),
        }
        if kind == "choice":
            choices = [str(c).strip()[:50] for c in field.get("choices") or [] if str(c).strip()]
            if not choices:
                raise ValidationFailed(errors={"form_fields": [f"第 {index} 项（单选）至少要有一个选项"]})
            item["choices"] = list(dict.fromkeys(choices))
        cleaned.append(item)
    return cleaned


def _answer(field: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    if field["type"] == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            return None, "应为数字"
        return (int(value) if float(value).is_integer() else float(value)), None
    if not isinstance(value, str):
        return None, "应为文字"
    value = value.strip()
    if field["type"] == "choice" and value not in field["choices"]:
        return None, "取值不在可选范围内"
    if len(value) > MAX_TEXT:
        return None, "长度不符合要求"
    return value, None


def clean_answers(fields: list[dict[str, Any]], answers: dict[str, Any] | None) -> dict[str, Any]:
    """The answers kept: only the activity's keys, each valid, every required one given; 422 otherwise."""
    answers = answers or {}
    known = {field["key"] for field in fields}
    errors: dict[str, list[str]] = {f"answers.{key}": ["不支持的字段"] for key in answers if key not in known}
    cleaned: dict[str, Any] = {}
    for field in fields:
        value = answers.get(field["key"])
        if value is None or value == "":
            if field["required"]:
                errors[f"answers.{field['key']}"] = ["此项必填"]
            continue
        value, problem = _answer(field, value)
        if problem:
            errors[f"answers.{field['key']}"] = [problem]
        else:
            cleaned[field["key"]] = value
    if errors:
        raise ValidationFailed(errors=errors)
    return cleaned


def check_companions(companions: int, max_companions: int) -> None:
    if companions < 0 or companions > max_companions:
        message = "本活动不能带同行人" if max_companions == 0 else f"最多可带 {max_companions} 位同行人"
        raise ValidationFailed(errors={"companions": [message]})
