"""Care (API.md: Care): the union's standards in force, a member's own requests and visits, the receipt
(电子签收) and a rating once. Another member's request or visit is 404, exactly like a missing id."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.care.models import CareCategory, CarePolicyRule, CareRequest, CareVisit
from backend.care.policy import rules_for
from backend.care.queries import own_request, own_requests, own_visit, own_visits
from backend.care.requests import MAX_ATTACHMENTS, submit_request
from backend.care.visits import confirm_receipt, give_feedback
from backend.db import SHANGHAI, unit_of_work, utcnow
from backend.members.models import MemberStatus
from miniprogram_api.common import (
    DbId,
    PageQuery,
    current_account,
    current_member,
    member_endpoint,
    page_schema,
    paginate,
)
from miniprogram_api.idempotency import IDEMPOTENCY_DOC, idempotent
from miniprogram_api.schemas import LocalDateTime

blp = Blueprint("care", __name__, url_prefix="/api/v1", description="关怀慰问")

CATEGORIES = [c.value for c in CareCategory]
FREQUENCIES = ["per_event", "per_year", "once"]
STATUSES = ["submitted", "scheduled", "visited", "closed"]


class PolicySchema(ma.Schema):
    category = ma.fields.String(attribute="category.value", metadata={"enum": CATEGORIES})
    label = ma.fields.String(attribute="category_label")
    standard = ma.fields.String()
    max_amount_fen = ma.fields.Integer(metadata={"description": "最高金额（分）"})
    frequency = ma.fields.String(attribute="frequency.value", metadata={"enum": FREQUENCIES})


class NewRequestSchema(ma.Schema):
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(CATEGORIES))
    description = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1000))
    occurred_on = ma.fields.Date(required=True)
    attachment_ids = ma.fields.List(
        DbId(), load_default=list, validate=ma.validate.Length(max=MAX_ATTACHMENTS)
    )


class CareTimelineSchema(ma.Schema):
    status = ma.fields.String(attribute="status.value", metadata={"enum": STATUSES})
    note = ma.fields.String()
    at = LocalDateTime()


class RequestSchema(ma.Schema):
    id = ma.fields.Integer()
    category = ma.fields.String(attribute="category.value", metadata={"enum": CATEGORIES})
    description = ma.fields.String()
    occurred_on = ma.fields.Date()
    status = ma.fields.String(attribute="status.value", metadata={"enum": STATUSES})
    scheduled_on = ma.fields.Date(allow_none=True)
    timeline = ma.fields.List(ma.fields.Nested(CareTimelineSchema), attribute="events")


class FeedbackSchema(ma.Schema):
    rating = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=5))
    comment = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class FeedbackDumpSchema(ma.Schema):
    rating = ma.fields.Integer()
    comment = ma.fields.String()
    rated_at = LocalDateTime()


def _feedback(visit: CareVisit) -> dict[str, Any] | None:
    if visit.rating is None:
        return None
    return FeedbackDumpSchema().dump(visit)


class VisitSchema(ma.Schema):
    id = ma.fields.Integer()
    category = ma.fields.String(attribute="category.value", metadata={"enum": CATEGORIES})
    visited_at = ma.fields.Date(attribute="visited_on", metadata={"description": "走访日期"})
    visitors = ma.fields.String()
    gift = ma.fields.String()
    amount_fen = ma.fields.Integer()
    received_at = LocalDateTime(allow_none=True, metadata={"description": "签收时间；未签收为 null"})
    feedback = ma.fields.Function(
        _feedback,
        allow_none=True,
        metadata={
            "type": "object",
            "nullable": True,
            "description": "评价 {rating, comment, rated_at}；未评价为 null",
        },
    )


RequestPageSchema = page_schema(RequestSchema, "CareRequestPage")
VisitPageSchema = page_schema(VisitSchema, "CareVisitPage")


def _reader():  # the active member, or None (lists are then empty, ids 404)
    member = current_account().member
    return member if member is not None and member.status == MemberStatus.active else None


@blp.route("/care/policy")
@member_endpoint(blp)
class Policy(MethodView):
    @blp.response(200, PolicySchema(many=True))
    def get(self) -> list[CarePolicyRule]:
        """本年度关怀标准：各类慰问的标准、最高金额和频次"""
        rules = rules_for(utcnow().astimezone(SHANGHAI).year)
        return [rules[c] for c in CareCategory if c in rules]


@blp.route("/care/requests")
@member_endpoint(blp)
class Requests(MethodView):
    decorators = [idempotent]

    @blp.arguments(PageQuery, location="query")
    @blp.response(200, RequestPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """本人的关怀申请，从新到旧"""
        member = _reader()
        if member is None:
            return {"items": [], "page": args["page"], "page_size": args["page_size"], "total": 0}
        return paginate(own_requests(member), args)

    @blp.doc(**IDEMPOTENCY_DOC)
    @blp.arguments(NewRequestSchema)
    @blp.response(201, RequestSchema)
    @blp.alt_response(403, description="member_not_active：请先完成会员认证")
    @blp.alt_response(422, description="content_risky：内容未通过微信内容安全检测；validation_error")
    def post(self, data: dict[str, Any]) -> CareRequest:
        """报告需要关怀的情况（住院、结婚、生育等）；内容经微信内容安全检测，需人工审核的先由工会审核"""
        # No unit_of_work: `idempotent` commits, together with the answer it keeps for retries.
        return submit_request(member=current_member(), **data)


@blp.route("/care/requests/<int:request_id>")
@member_endpoint(blp)
class RequestDetail(MethodView):
    @blp.response(200, RequestSchema)
    @blp.alt_response(404, description="not_found：不存在，或不是本人的")
    def get(self, request_id: int) -> CareRequest:
        """本人的一条关怀申请及其进度"""
        return own_request(request_id, _reader())


@blp.route("/care/visits")
@member_endpoint(blp)
class Visits(MethodView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, VisitPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """工会为本人登记的慰问，从新到旧"""
        member = _reader()
        if member is None:
            return {"items": [], "page": args["page"], "page_size": args["page_size"], "total": 0}
        return paginate(own_visits(member), args)


@blp.route("/care/visits/<int:visit_id>/receipt")
@member_endpoint(blp)
class Receipt(MethodView):
    @blp.response(200, VisitSchema)
    @blp.alt_response(404, description="not_found：不存在，或不是本人的")
    def post(self, visit_id: int) -> CareVisit:
        """确认收到慰问品或慰问金（电子签收）；再次确认不改变签收时间"""
        with unit_of_work():
            member = _reader()
            return confirm_receipt(own_visit(visit_id, member), member=member)


def own_visit_first(view: Callable[..., Any]) -> Callable[..., Any]:
    """Another member's visit is 404 before the body is read (a bad body would otherwise answer 422)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        own_visit(kwargs["visit_id"], _reader())
        return view(*args, **kwargs)

    return wrapper


@blp.route("/care/visits/<int:visit_id>/feedback")
@member_endpoint(blp)
class Feedback(MethodView):
    decorators = [own_visit_first]

    @blp.arguments(FeedbackSchema)
    @blp.response(201, VisitSchema)
    @blp.alt_response(404, description="not_found：不存在，或不是本人的")
    @blp.alt_response(409, description="feedback_exists：已评价过")
    @blp.alt_response(422, description="content_risky：评价内容未通过微信内容安全检测；validation_error")
    def post(self, data: dict[str, Any], visit_id: int) -> CareVisit:
        """评价这次慰问（1–5 分，可附文字），每次慰问只能评价一次"""
        with unit_of_work():
            member = _reader()
            return give_feedback(own_visit(visit_id, member), member=member, **data)
