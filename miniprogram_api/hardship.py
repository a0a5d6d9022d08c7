"""Hardship aid for workers (API.md: Hardship aid): the self-test, the applicant's own applications with
their timeline, and their household file.

Members never set a status, tier or amount granted: the request schemas have no such fields, so a body
that sends one is refused (422). Another member's application is 404, like a missing one.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.db import unit_of_work
from backend.hardship import applicant
from backend.hardship.files import member_file
from backend.hardship.limits import AMOUNT_MAX_FEN, FIGURE_MAX_FEN, HOUSEHOLD_MAX, MAX_ATTACHMENTS, REASON_MAX
from backend.hardship.models import CATEGORY_LABELS, STATUS_LABELS, TIER_LABELS, HardshipApplication
from backend.hardship.standards import self_test
from miniprogram_api.announcements import AttachmentSchema
from miniprogram_api.common import (
    DbId,
    PageQuery,
    current_member,
    member_endpoint,
    page_schema,
    paginate,
)
from miniprogram_api.idempotency import IDEMPOTENCY_DOC, idempotent
from miniprogram_api.schemas import LocalDateTime

blp = Blueprint("hardship", __name__, url_prefix="/api/v1", description="困难帮扶")

FEN = {"validate": ma.validate.Range(min=0, max=FIGURE_MAX_FEN)}
HOUSEHOLD = ma.validate.Range(min=1, max=HOUSEHOLD_MAX)
CATEGORY_DOC = "living 生活救助 / medical 医疗救助 / education 助学 / sudden 意外致困 / other 其他"


class SelfTestInSchema(ma.Schema):
    household_size = ma.fields.Integer(required=True, validate=HOUSEHOLD)
    household_income_fen = ma.fields.Integer(
        required=True, metadata={"description": "近 12 个月家庭总收入（分）"}, **FEN
    )
    hardship_expenses_fen = ma.fields.Integer(
        required=True, metadata={"description": "同期看病、上学等困难支出（分）"}, **FEN
    )
    sudden_event = ma.fields.Boolean(
        load_default=False, metadata={"description": "是否遭遇突发事件（灾害、事故）"}
    )


class SelfTestSchema(ma.Schema):
    per_capita_monthly_fen = ma.fields.Integer()
    dibao_monthly_fen = ma.fields.Integer()
    tier = ma.fields.String(attribute="tier.value", metadata={"enum": list(TIER_LABELS)})
    explanation = ma.fields.String()


class ConsentSchema(ma.Schema):
    version = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=32),
        metadata={"description": "所同意告知书的版本，须是 /config 的 hardship_consent.version"},
    )
    sensitive_data = ma.fields.Boolean(load_default=False, metadata={"description": "同意处理敏感个人信息"})
    income_check = ma.fields.Boolean(load_default=False, metadata={"description": "同意核对家庭经济状况"})


class ApplicationInSchema(ma.Schema):
    category = ma.fields.String(
        validate=ma.validate.OneOf(list(CATEGORY_LABELS)), metadata={"description": CATEGORY_DOC}
    )
    reason = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=REASON_MAX))
    household_size = ma.fields.Integer(allow_none=True, validate=HOUSEHOLD)
    household_income_fen = ma.fields.Integer(allow_none=True, **FEN)
    hardship_expenses_fen = ma.fields.Integer(allow_none=True, **FEN)
    requested_amount_fen = ma.fields.Integer(
        allow_none=True, validate=ma.validate.Range(min=1, max=AMOUNT_MAX_FEN)
    )
    attachment_ids = ma.fields.List(DbId(), validate=ma.validate.Length(max=MAX_ATTACHMENTS))
    consent = ma.fields.Nested(ConsentSchema)


class HardshipTimelineSchema(ma.Schema):
    at = LocalDateTime()
    action = ma.fields.String()
    from_status = ma.fields.String(allow_none=True, metadata={"enum": list(STATUS_LABELS)})
    to_status = ma.fields.String(metadata={"enum": list(STATUS_LABELS)})
    comment = ma.fields.String()


class ApplicationSchema(ma.Schema):
    id = ma.fields.Integer()
    category = ma.fields.String(attribute="category.value", metadata={"enum": list(CATEGORY_LABELS)})
    status = ma.fields.String(attribute="status.value", metadata={"enum": list(STATUS_LABELS)})
    status_label = ma.fields.String(metadata={"description": "状态的中文名"})
    tier = ma.fields.String(attribute="tier.value", allow_none=True, dump_default=None)
    granted_amount_fen = ma.fields.Integer(allow_none=True)
    disbursed_fen = ma.fields.Integer()
    reason = ma.fields.String(allow_none=True)
    household_size = ma.fields.Integer(allow_none=True)
    household_income_fen = ma.fields.Integer(allow_none=True)
    hardship_expenses_fen = ma.fields.Integer(allow_none=True)
    requested_amount_fen = ma.fields.Integer(allow_none=True)
    consent_version = ma.fields.String(allow_none=True)
    sensitive_data_consent_at = LocalDateTime(allow_none=True)
    income_check_consent_at = LocalDateTime(allow_none=True)
    attachments = ma.fields.List(ma.fields.Nested(AttachmentSchema))
    created_at = LocalDateTime()
    submitted_at = LocalDateTime(allow_none=True)
    timeline = ma.fields.List(ma.fields.Nested(HardshipTimelineSchema), attribute="events")


class FileSchema(ma.Schema):
    tier = ma.fields.String(attribute="tier.value", metadata={"enum": list(TIER_LABELS)})
    status = ma.fields.String(attribute="status.value", metadata={"enum": ["active", "closed"]})
    opened_on = ma.fields.Date()
    review_due_on = ma.fields.Date()


FILE_CONTENT = {
    "application/json": {
        "schema": {
            "type": "object",
            "nullable": True,
            "properties": {
                "tier": {"type": "string", "enum": list(TIER_LABELS)},
                "status": {"type": "string", "enum": ["active", "closed"]},
                "opened_on": {"type": "string", "format": "date"},
                "review_due_on": {"type": "string", "format": "date"},
            },
        }
    }
}

ApplicationPageSchema = page_schema(ApplicationSchema, "HardshipApplicationPage")


@blp.route("/hardship/self-test")
@member_endpoint(blp)
class SelfTest(MethodView):
    @blp.arguments(SelfTestInSchema)
    @blp.response(200, SelfTestSchema)
    @blp.alt_response(409, description="standard_missing：工会尚未设置低保标准")
    @blp.alt_response(422, description="validation_error")
    def post(self, data: dict[str, Any]) -> Any:
        """困难职工自测：只给参考，不保存任何内容"""
        return self_test(**data)


@blp.route("/hardship/applications")
@member_endpoint(blp)
class Applications(MethodView):
    decorators = [idempotent]

    @blp.arguments(PageQuery, location="query")
    @blp.response(200, ApplicationPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """本人的困难帮扶申请，新的在前"""
        return paginate(applicant.member_applications(current_member()), args)

    @blp.doc(**IDEMPOTENCY_DOC)
    @blp.arguments(ApplicationInSchema)
    @blp.response(201, ApplicationSchema)
    @blp.alt_response(403, description="member_not_active")
    @blp.alt_response(409, description="open_application_exists：已有正在办理的申请")
    @blp.alt_response(422, description="validation_error；consent_outdated：告知书版本不是当前版本")
    def post(self, data: dict[str, Any]) -> HardshipApplication:
        """新建申请（草稿）"""
        return applicant.create_application(current_member(), data)


@blp.route("/hardship/applications/<int:application_id>")
@member_endpoint(blp)
class ApplicationDetail(MethodView):
    @blp.response(200, ApplicationSchema)
    @blp.alt_response(404, description="not_found")
    def get(self, application_id: int) -> HardshipApplication:
        """本人的一份申请，含办理进度"""
        return applicant.own_application(application_id, current_member())

    @blp.arguments(ApplicationInSchema)
    @blp.response(200, ApplicationSchema)
    @blp.alt_response(404, description="not_found")
    @blp.alt_response(409, description="invalid_state：只有草稿或退回补充的申请可以修改")
    @blp.alt_response(422, description="validation_error；consent_outdated：告知书版本不是当前版本")
    def patch(self, data: dict[str, Any], application_id: int) -> HardshipApplication:
        """修改草稿或退回补充的申请"""
        with unit_of_work():
            return applicant.update_application(application_id, current_member(), data)


@blp.route("/hardship/applications/<int:application_id>/submit")
@member_endpoint(blp)
class Submit(MethodView):
    @blp.response(200, ApplicationSchema)
    @blp.alt_response(404, description="not_found")
    @blp.alt_response(409, description="invalid_state")
    @blp.alt_response(
        422,
        description="validation_error：没有填写完整，或没有分别同意两项告知；"
        "consent_outdated：同意的告知书已不是当前版本，须重新同意",
    )
    def post(self, application_id: int) -> HardshipApplication:
        """提交申请"""
        with unit_of_work():
            return applicant.submit_application(application_id, current_member())


@blp.route("/hardship/applications/<int:application_id>/withdraw")
@member_endpoint(blp)
class Withdraw(MethodView):
    @blp.response(200, ApplicationSchema)
    @blp.alt_response(404, description="not_found")
    @blp.alt_response(409, description="invalid_state：已有审批结果")
    def post(self, application_id: int) -> HardshipApplication:
        """撤回申请（有审批结果之前）"""
        with unit_of_work():
            return applicant.withdraw_application(application_id, current_member())


@blp.route("/hardship/file")
@member_endpoint(blp)
class File(MethodView):
    @blp.doc(responses={"200": {"description": "档案，或 null", "content": FILE_CONTENT}})
    @blp.response(200, description="本人的困难职工档案，没有时为 null")
    def get(self) -> Response:
        """本人的困难职工档案；没有档案时为 null"""
        file = member_file(current_member().id)
        return jsonify(FileSchema().dump(file) if file is not None else None)
