"""The activities' admin pages for the browser walk (harness.PAGES / DOWNLOADS) and their seeded data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, url_for

from backend.db import unit_of_work
from backend.extensions import db


def seed_activity(app: Flask, staff_id: int, member_id: int) -> int:
    """A published activity with a form field and one registration (its pages have something to show)."""
    from backend.activities.signup import register
    from backend.members.models import Member
    from tests.factories import make_activity

    fields = [{"label": "衣服尺码", "type": "choice", "required": False, "choices": ["小号", "中号", "大号"]}]
    activity_id = make_activity(app, staff_id, title="职工亲子运动会", max_companions=2, form_fields=fields)
    with app.app_context(), unit_of_work():
        register(activity_id, db.session.get(Member, member_id), answers={"f1": "中号"}, companions=1)
    return activity_id


def _page(endpoint: str) -> Callable[[Any], str]:
    return lambda w: url_for(endpoint, activity_id=w.activity_id)


ACTIVITY_PAGES: dict[str, Callable[[Any], str]] = {
    "admin.activities_list": lambda w: url_for("admin.activities_list"),
    "admin.activity_new": lambda w: url_for("admin.activity_new"),
    **{
        f"admin.{name}": _page(f"admin.{name}")
        for name in (
            "activity_detail",
            "activity_edit",
            "activity_registrations",
            "activity_figures_page",
            "activity_poster",
            "activity_sheet",
        )
    },
}
ACTIVITY_DOWNLOADS: dict[str, Callable[[Any], str]] = {
    "admin.activity_sheet_xlsx": _page("admin.activity_sheet_xlsx"),
    "admin.activity_poster_image": _page("admin.activity_poster_image"),
}
