"""Care requests (a member reports a life event): submit with WeChat's content check, then staff schedule a
visit, record it (backend/care/visits.py) or close the request. Every step is a timeline row and a message.

Content security (msg_sec_check v2, through the gateway): "risky" refuses the text (422 content_risky);
"review" holds it (ContentState.held) until a staff member with manage_care reads and releases it; held text
is shown to nobody else and the request cannot be scheduled before. When WeChat cannot be asked (down,
timing out, an error) the request is not lost and not shown unchecked either: it is held the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from backend.audit.operations import record
from backend.care.models import (
    CareCategory,
    CareRequest,
    CareRequestEvent,
    ContentState,
    RequestStatus,
)
from backend.db import today, utcnow
from backend.errors import DomainError, InvalidState, ValidationFailed
from backend.extensions import db
from backend.members.models import Member
from backend.notifications.operations import notify
from backend.staff.models import Staff
from backend.uploads.operations import attach_uploads
from backend.wechat.gateway.api import gateway
from backend.wechat.gateway.errors import WechatError

log = logging.getLogger(__name__)

MEMBER_LINK = "pages/care/request?id={id}"
MAX_ATTACHMENTS = 9


class ContentRisky(DomainError):
    status = 422
    code = "content_risky"
    message = "您填写的内容未通过微信内容安全检测，请修改后再提交"


def content_verdict(member: Member, text: str) -> tuple[ContentState, str | None]:
    """passed / held, or ContentRisky; held also when WeChat could not give a verdict."""
    account = member.wechat_account
    if account is None:
        return ContentState.held, None
    try:
        result = gateway.msg_sec_check(account.openid, text)
    except WechatError as error:  # WechatUnavailable included: a person looks at it instead
        log.warning("msg_sec_check failed, care request held for review: %s", error)
        return ContentState.held, None
    if result.suggest == "risky":
        raise ContentRisky()
    return (ContentState.passed if result.passed else ContentState.held), result.trace_id


def _step(request: CareRequest, status: RequestStatus, note: str, staff: Staff | None) -> CareRequestEvent:
    event = CareRequestEvent(request=request, status=status, note=note, staff_id=staff.id if staff else None)
    db.session.add(event)
    db.session.flush()
    return event


def _tell(request: CareRequest, event: CareRequestEvent, title: str, note: str) -> None:
    notify(
        request.member,
        kind="care",
        title=title,
        body=note,
        link=MEMBER_LINK.format(id=request.id),
        dedupe_key=f"care:request:{request.id}:{event.id}",
        data={"status": request.status_label, "note": note, "updated_at": event.at},
    )


def submit_request(
    *,
    member: Member,
    category: CareCategory,
    description: str,
    occurred_on: date,
    attachment_ids: Sequence[int] = (),
) -> CareRequest:
    description = description.strip()
    if not description:
        raise ValidationFailed(errors={"description": ["请填写情况说明"]})
    if len(attachment_ids) > MAX_ATTACHMENTS:
        raise ValidationFailed(errors={"attachment_ids": [f"最多 {MAX_ATTACHMENTS} 个附件"]})
    state, trace_id = content_verdict(member, description)
    request = CareRequest(
        member=member,
        category=CareCategory(category),
        description=description,
        occurred_on=occurred_on,
        status=RequestStatus.submitted,
        content_state=state,
        content_trace_id=trace_id,
    )
    db.session.add(request)
    request.attachments = attach_uploads(attachment_ids, member=member)
    db.session.flush()
    event = _step(request, RequestStatus.submitted, "已提交，工会将尽快联系您", None)
    _tell(request, event, "关怀申请已提交", "工会已收到您的申请，将尽快联系您")
    return request


def release_request(request: CareRequest, *, staff: Staff) -> CareRequest:
    """A staff member read the held text and lets it into the queue."""
    if not request.is_held:
        raise InvalidState("该申请不需要人工审核")
    request.content_state = ContentState.released
    record("care.request_release", staff=staff, target=request)
    return request


def _require_open(request: CareRequest) -> None:
    if not request.is_open:
        raise InvalidState("该申请已走访或已关闭")
    if request.is_held:
        raise InvalidState("该申请的内容待人工审核，请先审核通过")


def schedule_request(request: CareRequest, *, staff: Staff, on: date, visitors: str) -> CareRequest:
    _require_open(request)
    if on < today():
        raise ValidationFailed(errors={"scheduled_on": ["走访日期不能早于今天"]})
    request.status = RequestStatus.scheduled
    request.scheduled_on = on
    request.visitors = visitors.strip()
    note = f"工会已安排 {on.isoformat()} 走访（{request.visitors}）"
    event = _step(request, RequestStatus.scheduled, note, staff)
    record("care.request_schedule", staff=staff, target=request, date_from=on.isoformat())
    _tell(request, event, "关怀走访已安排", note)
    return request


def close_request(request: CareRequest, *, staff: Staff, reason: str) -> CareRequest:
    if not request.is_open:
        raise InvalidState("该申请已走访或已关闭")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(errors={"reason": ["请填写关闭原因"]})
    request.status = RequestStatus.closed
    request.closed_reason = reason
    event = _step(request, RequestStatus.closed, reason, staff)
    record("care.request_close", staff=staff, target=request, reason=reason)
    _tell(request, event, "关怀申请已办结", reason)
    return request


def mark_visited(request: CareRequest, *, staff: Staff, note: str) -> None:
    """The visit for this request was recorded (backend/care/visits.py)."""
    request.status = RequestStatus.visited
    request.updated_at = utcnow()
    event = _step(request, RequestStatus.visited, note, staff)
    _tell(request, event, "关怀走访已完成", note)
