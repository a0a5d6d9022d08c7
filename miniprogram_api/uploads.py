"""Uploads (API.md: Uploads): a photo or a PDF sent before the form that attaches it, and reading it back.

POST /uploads stores a file for an active member (type judged by its bytes: JPEG, PNG, PDF); a form
sent later (care request, hardship application) attaches it by id, and an upload nothing attached
within a day is purged. A member's uploads are counted per member, not per login (UPLOAD_RATE_LIMIT),
and what they have uploaded but not yet used is capped (UPLOAD_MEMBER_PENDING_BYTES).
GET /uploads/{id} serves the file to its owner, and to anyone who may read a published announcement
it is attached to; to everyone else it is 404, like a missing id.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload as UploadField

from backend.activities.queries import cover_readable_by
from backend.announcements.queries import attachment_readable_by
from backend.care.queries import visit_photo_readable_by
from backend.errors import NotFound
from backend.extensions import db, limiter
from backend.members.models import Member
from backend.uploads.models import ACCEPTED_TYPES, Upload
from backend.uploads.operations import store_upload
from backend.uploads.storage import send_upload, staged_upload
from miniprogram_api.common import current_account, current_member, member_endpoint, member_rate_limit_key
from miniprogram_api.idempotency import IDEMPOTENCY_DOC, idempotent

blp = Blueprint("uploads", __name__, url_prefix="/api/v1", description="上传文件")

FILE_DESCRIPTION = "文件内容：Content-Type 为实际类型，Content-Disposition 带 UTF-8 文件名"
FILE_CONTENT = {kind: {"schema": {"type": "string", "format": "binary"}} for kind in ACCEPTED_TYPES}


def upload_rate_limit() -> str:
    return current_app.config["UPLOAD_RATE_LIMIT"]


class UploadFormSchema(ma.Schema):
    file = UploadField(
        required=True,
        error_messages={"required": "请选择要上传的文件"},
        metadata={"description": "JPG、PNG 图片或 PDF 文件（按内容判断类型）；大小上限见 /config 的 upload"},
    )


class UploadSchema(ma.Schema):
    id = ma.fields.Integer()
    filename = ma.fields.String(metadata={"description": "文件名（扩展名与实际类型一致）"})
    content_type = ma.fields.String(metadata={"enum": list(ACCEPTED_TYPES)})
    size = ma.fields.Integer(metadata={"description": "字节数"})


@blp.route("/uploads")
@member_endpoint(blp)
class Uploads(MethodView):
    # Innermost first: a replayed answer is not counted by the limiter; a refusal (429) frees the key.
    # member_endpoint adds login_required last, outermost: the caller is known before either runs.
    decorators = [
        limiter.limit(upload_rate_limit, key_func=member_rate_limit_key, methods=["POST"]),
        idempotent,
    ]

    @blp.doc(**IDEMPOTENCY_DOC)
    @blp.arguments(UploadFormSchema, location="files")
    @blp.response(201, UploadSchema)
    @blp.alt_response(403, description="member_not_active：请先完成会员认证")
    @blp.alt_response(
        409,
        description="idempotency_key_in_use：同一请求编号的第一次提交仍在处理；"
        "idempotency_key_abandoned：第一次提交没有完成，请换新编号重新提交",
    )
    @blp.alt_response(413, description="too_large：文件超过大小上限")
    @blp.alt_response(415, description="unsupported_type：不是 JPG、PNG 或 PDF（按内容判断）")
    @blp.alt_response(422, description="validation_error：没有文件或文件为空；idempotency_key_reused")
    @blp.alt_response(
        429,
        description="rate_limited：上传次数太多（按会员计）；"
        "upload_quota_exceeded：已上传但还没被表单使用的文件合计超过上限，先提交表单或等一天后再传",
    )
    def post(self, files: dict[str, Any]) -> Upload:
        """上传一个文件（multipart/form-data，字段名 file），之后在表单里用返回的 id 作附件"""
        member = current_member()
        storage = files["file"]
        with staged_upload(storage.stream, storage.filename) as staged:
            # No unit_of_work: `idempotent` commits, together with the answer it keeps for retries.
            return store_upload(staged, member=member)


def readable_upload(upload_id: int, member: Member | None) -> Upload:
    """The upload if the caller owns it or may read a published announcement it is attached to."""
    upload = db.session.get(Upload, upload_id)
    if upload is None:
        raise NotFound()
    if upload.is_owned_by(member) or attachment_readable_by(upload.id, member):
        return upload
    if cover_readable_by(upload.id, member):
        return upload
    if visit_photo_readable_by(upload.id, member):  # photos staff took of a visit to this member
        return upload
    raise NotFound()


@blp.route("/uploads/<int:upload_id>")
@member_endpoint(blp)
class UploadFile(MethodView):
    @blp.doc(responses={"200": {"description": FILE_DESCRIPTION, "content": FILE_CONTENT}})
    @blp.response(200, description=FILE_DESCRIPTION)
    @blp.alt_response(404, description="not_found：不存在、不是本人的，或所属公告已撤回")
    def get(self, upload_id: int) -> Response:
        """下载文件：本人上传的，或本人可阅读的已发布公告的附件"""
        upload = readable_upload(upload_id, current_account().member)
        return send_upload(upload)
