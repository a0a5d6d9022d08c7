"""Activities for workers (API.md: Activities): browse, sign up, change, cancel, check in.

Who sees what: published (or cancelled) activities whose audience includes the caller's group, plus any
they hold a registration for; anything else is 404 like a missing id. Signing up needs an active member
(403 member_not_active). Every write runs with the activity row locked (backend/activities/signup.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.activities import checkin, signup
from backend.activities.models import Activity, ActivityCategory, Allocation, Registration
from backend.activities.queries import (
    SCOPES,
    activity_for_member,
    latest_registration,
    member_activities,
    waitlist_counts,
)
from backend.db import unit_of_work, utcnow
from miniprogram_api.common import (
    PageQuery,
    current_account,
    current_member,
    member_endpoint,
    page_schema,
    paginate,
)
from miniprogram_api.idempotency import IDEMPOTENCY_DOC, idempotent
from miniprogram_api.schemas import DerivedString, LocalDateTime

blp = Blueprint("activities", __name__, url_prefix="/api/v1", description="活动报名")

CATEGORIES = [c.value for c in ActivityCategory]
REGISTRATION_STATUSES = [
    "registered",
    "waitlisted",
    "applied",
    "not_selected",
    "cancelled",
    "attended",
    "no_show",
]


class ActivityQuery(PageQuery):
    scope = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(SCOPES),
        metadata={"description": "open 报名中 / upcoming 未结束 / past 已结束 / mine 我报名的；不传则全部"},
    )
    category = ma.fields.String(load_default=None, validate=ma.validate.OneOf(CATEGORIES))


@dataclass(frozen=True)
class CallersActivity:
    """An activity with what only the caller's request can say: their registration, the waitlist, now."""

    activity: Activity
    my_registration: Registration | None
    waitlist_count: int
    now: datetime


class RegistrationSchema(ma.Schema):
    id = ma.fields.Integer()
    activity_id = ma.fields.Integer()
    status = ma.fields.String(attribute="status.value", metadata={"enum": REGISTRATION_STATUSES})
    waitlist_position = ma.fields.Integer(allow_none=True, metadata={"description": "候补第几位（仅候补中）"})
    companions = ma.fields.Integer(metadata={"description": "同行人数（占 1 + 同行人数 个名额）"})
    answers = ma.fields.Dict(keys=ma.fields.String())
    created_at = LocalDateTime()
    checked_in_at = LocalDateTime(allow_none=True)


def _cover_url(item: CallersActivity) -> str | None:
    upload_id = item.activity.cover_upload_id
    return url_for("uploads.UploadFile", upload_id=upload_id) if upload_id else None


class ActivitySummarySchema(ma.Schema):
    id = ma.fields.Integer(attribute="activity.id")
    title = ma.fields.String(attribute="activity.title")
    category = ma.fields.String(attribute="activity.category.value", metadata={"enum": CATEGORIES})
    cover_url = ma.fields.Function(_cover_url, allow_none=True, metadata={"type": "string"})
    location = ma.fields.String(attribute="activity.location")
    starts_at = LocalDateTime(attribute="activity.starts_at")
    ends_at = LocalDateTime(attribute="activity.ends_at")
    registration_opens_at = LocalDateTime(attribute="activity.registration_opens_at")
    registration_closes_at = LocalDateTime(attribute="activity.registration_closes_at")
    capacity = ma.fields.Integer(
        attribute="activity.capacity", allow_none=True, metadata={"description": "人数，null 为不限"}
    )
    seats_taken = ma.fields.Integer(attribute="activity.seats_taken")
    waitlist_count = ma.fields.Integer()
    allocation = ma.fields.String(
        attribute="activity.allocation.value", metadata={"enum": [a.value for a in Allocation]}
    )
    status = DerivedString(
        lambda item: item.activity.shown_status(item.now),
        metadata={"enum": ["published", "cancelled", "finished"]},
    )
    my_registration = ma.fields.Nested(RegistrationSchema, allow_none=True)


class FormFieldSchema(ma.Schema):
    key = ma.fields.String()
    label = ma.fields.String()
    type = ma.fields.String(metadata={"enum": ["text", "number", "choice"]})
    required = ma.fields.Boolean()
    choices = ma.fields.List(ma.fields.String())


class DrawSchema(ma.Schema):
    drawn_at = LocalDateTime()
    seed = ma.fields.String(attribute="draw_seed")
    applicants = ma.fields.Integer(attribute="draw_applicants")
    winners = ma.fields.Integer(attribute="draw_winners")


def _draw(item: CallersActivity) -> Activity | None:
    return item.activity if item.activity.drawn_at is not None else None


class ActivitySchema(ActivitySummarySchema):
    description = ma.fields.String(
        attribute="activity.description_html", metadata={"description": "已净化的富文本"}
    )
    cancel_deadline = LocalDateTime(attribute="activity.effective_cancel_deadline")
    waitlist_enabled = ma.fields.Boolean(attribute="activity.waitlist_enabled")
    max_companions = ma.fields.Integer(attribute="activity.max_companions")
    checkin_required = ma.fields.Boolean(attribute="activity.checkin_required")
    form_fields = ma.fields.List(ma.fields.Nested(FormFieldSchema), attribute="activity.form_fields")
    draw = ma.fields.Method(
        "dump_draw", allow_none=True, metadata={"type": "object", "description": "抽签结果"}
    )

    def dump_draw(self, item: CallersActivity) -> dict[str, Any] | None:
        activity = _draw(item)
        return DrawSchema().dump(activity) if activity is not None else None


class RegistrationBody(ma.Schema):
    answers = ma.fields.Dict(
        keys=ma.fields.String(), load_default=dict, metadata={"description": "报名信息项"}
    )
    companions = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=99))


class RegistrationChange(ma.Schema):
    answers = ma.fields.Dict(keys=ma.fields.String(), load_default=None)
    companions = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=0, max=99))


class CheckinBody(ma.Schema):
    # Not required: a missing or empty token is answered like a forged one (400), after the scope check.
    token = ma.fields.String(load_default="", validate=ma.validate.Length(max=64))


ActivityPageSchema = page_schema(ActivitySummarySchema, "ActivityPage")


@blp.route("/activities")
@member_endpoint(blp)
class Activities(MethodView):
    @blp.arguments(ActivityQuery, location="query")
    @blp.response(200, ActivityPageSchema)
    @blp.alt_response(422, description="validation_error")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """活动列表（面向本人所在组织的），每项带本人的报名"""
        category = ActivityCategory(args["category"]) if args["category"] else None
        now = utcnow()
        query = member_activities(current_account().member, scope=args["scope"], category=category, now=now)
        page = paginate(query, args, item=lambda a, r: (a, r))
        counts = waitlist_counts([a.id for a, _ in page["items"]])
        page["items"] = [CallersActivity(a, r, counts.get(a.id, 0), now) for a, r in page["items"]]
        return page


def callers(activity: Activity, registration: Registration | None) -> CallersActivity:
    return CallersActivity(
        activity, registration, waitlist_counts([activity.id]).get(activity.id, 0), utcnow()
    )


@blp.route("/activities/<int:activity_id>")
@member_endpoint(blp)
class ActivityDetail(MethodView):
    @blp.response(200, ActivitySchema)
    @blp.alt_response(404, description="not_found：不存在，或不面向本人")
    def get(self, activity_id: int) -> CallersActivity:
        """活动详情"""
        member = current_account().member
        activity = activity_for_member(activity_id, member)
        return callers(activity, latest_registration(activity.id, member.id) if member else None)


@blp.route("/activities/<int:activity_id>/registration")
@member_endpoint(blp)
class ActivityRegistration(MethodView):
    decorators = [idempotent]  # it owns the transaction: no unit_of_work in these views

    @blp.doc(**IDEMPOTENCY_DOC)
    @blp.arguments(RegistrationBody)
    @blp.response(201, RegistrationSchema)
    @blp.alt_response(200, schema=RegistrationSchema, description="已报名：返回原来的报名")
    @blp.alt_response(403, description="member_not_active / not_in_audience")
    @blp.alt_response(404, description="not_found")
    @blp.alt_response(
        409, description="registration_not_open / registration_closed / activity_full / activity_cancelled"
    )
    @blp.alt_response(422, description="validation_error：报名信息或同行人数有误")
    def post(self, body: dict[str, Any], activity_id: int) -> Any:
        """报名（先到先得：报名成功或候补；抽签：已申请）；重复提交返回同一报名"""
        registration, created = signup.register(
            activity_id, current_member(), answers=body["answers"], companions=body["companions"]
        )
        return registration, 201 if created else 200

    @blp.arguments(RegistrationChange)
    @blp.response(200, RegistrationSchema)
    @blp.alt_response(404, description="not_found：没有报名")
    @blp.alt_response(409, description="registration_closed / activity_full")
    @blp.alt_response(422, description="validation_error")
    def patch(self, body: dict[str, Any], activity_id: int) -> Registration:
        """修改报名信息或同行人数（报名截止前）"""
        return signup.change(activity_id, current_member(), **body)

    @blp.response(204)
    @blp.alt_response(404, description="not_found：没有报名")
    @blp.alt_response(409, description="cancel_deadline_passed")
    def delete(self, activity_id: int) -> None:
        """取消报名 / 退出候补 / 放弃抽签；空出的名额给第一位人数合适的候补"""
        signup.cancel(activity_id, current_member())


@blp.route("/activities/<int:activity_id>/checkin")
@member_endpoint(blp)
class ActivityCheckin(MethodView):
    @blp.arguments(CheckinBody)
    @blp.response(200, RegistrationSchema)
    @blp.alt_response(400, description="invalid_checkin_token")
    @blp.alt_response(403, description="not_registered / member_not_active")
    @blp.alt_response(404, description="not_found")
    @blp.alt_response(409, description="checkin_not_open")
    def post(self, body: dict[str, Any], activity_id: int) -> Registration:
        """扫码签到（扫描现场签到码得到的 scene）；重复扫码返回同一报名"""
        with unit_of_work():
            return checkin.check_in(activity_id, current_member(), body["token"])
