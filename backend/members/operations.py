"""What staff do to the roster: members, their groups, join requests, and the group tree."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.audit.operations import record
from backend.crypto import PhoneIndexer, blind_index, last4_index
from backend.db import today as local_today
from backend.db import utcnow
from backend.errors import (
    DuplicateEmployeeNo,
    GroupNotEmpty,
    InvalidState,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from backend.extensions import db
from backend.members.auth import revoke_all_tokens
from backend.members.models import (
    BindingProof,
    Group,
    GroupChange,
    JoinRequest,
    JoinRequestStatus,
    Member,
    MemberStatus,
    WechatAccount,
    normalize_employee_no,
    normalize_name,
)
from backend.notifications.operations import notify
from backend.staff.permissions import Permission

if TYPE_CHECKING:
    from backend.staff.models import Staff


def phone_fields(phone: str | None, indexer: PhoneIndexer | None = None) -> dict[str, str | None]:
    """The phone and its two indexes, as a member's columns hold them (the roster import's bulk insert
    writes these too, with one `indexer` for all its rows)."""
    phone = (phone or "").strip() or None
    if phone is None:
        return {"phone": None, "phone_index": None, "phone_last4_index": None}
    full, last4 = indexer(phone) if indexer is not None else (blind_index(phone), last4_index(phone))
    return {"phone": phone, "phone_index": full, "phone_last4_index": last4}


def set_phone(member: Member, phone: str | None) -> None:
    for column, value in phone_fields(phone).items():
        setattr(member, column, value)


def link_account(
    account: WechatAccount, member: Member, *, proof: BindingProof | None, staff: Staff | None = None
) -> bool:
    """Binds the account to the member, unless the account is bound already: False then.

    One conditional UPDATE, so that of several requests racing to bind one account exactly one links
    it; the others wait for its row lock, find it bound and get False. Another account holding the
    member is refused by the unique index (IntegrityError: run this in a savepoint).
    """
    now = utcnow()
    confirmed = proof == BindingProof.staff
    result = db.session.execute(
        sa.update(WechatAccount)
        .where(WechatAccount.id == account.id, WechatAccount.member_id.is_(None))
        .values(
            member_id=member.id,
            bound_at=now,
            binding_proof=proof,
            binding_confirmed_at=now if confirmed else None,
            binding_confirmed_by_id=staff.id if confirmed and staff is not None else None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.expire(account)
    db.session.expire(member, ["wechat_account"])
    return result.rowcount == 1


def confirm_binding(member: Member, *, staff: Staff) -> WechatAccount:
    """A staff member vouches that the WeChat account bound by name + 工号 is the member's own (they
    checked in person or by phone): the admin stops listing it and /me/export shows the full phone."""
    _require(staff, Permission.edit_members, member.group)
    account = member.wechat_account
    if account is None:
        raise InvalidState("该会员尚未绑定微信")
    if account.binding_proof is not None:
        raise InvalidState("该微信绑定已确认，无需重复确认")
    account.binding_proof = BindingProof.staff
    account.binding_confirmed_at = utcnow()
    account.binding_confirmed_by_id = staff.id
    db.session.flush()
    record("member.binding_confirm", staff=staff, target=member, account_id=account.id)
    return account


def _require(staff: Staff, permission: Permission, group: Group | None) -> None:
    if not staff.can(permission) or not staff.in_scope(group):
        # Out of scope is answered like "not there" (the admin shows 404), never "forbidden".
        raise NotFound()


def _employee_no_taken(employee_no: str, *, except_id: int | None = None) -> bool:
    query = sa.select(Member.id).where(Member.employee_no == employee_no)
    if except_id is not None:
        query = query.where(Member.id != except_id)
    return db.session.scalar(query) is not None


def create_member(
    *,
    staff: Staff | None,
    name: str,
    employee_no: str,
    group: Group,
    phone: str | None = None,
    birthday: date | None = None,
    joined_on: date | None = None,
    employee_no_checked: bool = False,
    retires_on: date | None = None,
) -> Member:
    """Adds a person to the roster. `staff` is None only for trusted imports from the shell.

    `employee_no_checked`: the caller (the roster import) looked the number up in bulk already; the
    unique index still refuses a duplicate, with IntegrityError.
    """
    if staff is not None:
        _require(staff, Permission.edit_members, group)
    employee_no = normalize_employee_no(employee_no)
    if not employee_no_checked and _employee_no_taken(employee_no):
        raise DuplicateEmployeeNo()
    member = Member(
        name=normalize_name(name),
        employee_no=employee_no,
        group=group,
        birthday=birthday,
        joined_on=joined_on or local_today(),
        retires_on=retires_on,
        status=MemberStatus.active,
    )
    set_phone(member, phone)
    db.session.add(member)
    db.session.flush()
    record("member.create", staff=staff, target=member, employee_no=employee_no, group_id=group.id)
    return member


def update_member(
    member: Member,
    *,
    staff: Staff | None,
    name: str,
    employee_no: str,
    phone: str | None,
    birthday: date | None,
    joined_on: date | None,
    reason: str = "",
    clear_phone: bool = False,
    retires_on: date | None = None,
) -> Member:
    """Edits the roster entry; records which fields changed (not their sensitive values).

    A blank `phone` keeps the number on file: the edit form never shows the full number (reading it is an
    audited click on the member's page), so an untouched field arrives empty. `clear_phone` removes it.
    """
    if staff is not None:
        _require(staff, Permission.edit_members, member.group)
    employee_no = normalize_employee_no(employee_no)
    if employee_no != member.employee_no and _employee_no_taken(employee_no, except_id=member.id):
        raise DuplicateEmployeeNo()
    changed = []
    new_values = {"name": normalize_name(name), "employee_no": employee_no, "birthday": birthday}
    new_values |= {"joined_on": joined_on, "retires_on": retires_on}
    for field, value in new_values.items():
        if getattr(member, field) != value:
            changed.append(field)
            setattr(member, field, value)
    new_phone = (phone or "").strip() or None
    if clear_phone and new_phone:
        raise ValidationFailed(errors={"phone": ["填写了新号码就不要勾选删除手机号"]})
    if clear_phone and member.phone:
        changed.append("phone")
        set_phone(member, None)
    elif new_phone and new_phone != member.phone:
        changed.append("phone")
        set_phone(member, new_phone)
    db.session.flush()
    if changed:
        record("member.update", staff=staff, target=member, fields=changed, reason=reason)
    return member


def change_group(member: Member, to_group: Group, *, staff: Staff | None, reason: str = "") -> Member:
    """转会: moves a member, keeping the move in the member's history."""
    if staff is not None:
        _require(staff, Permission.edit_members, member.group)
        _require(staff, Permission.edit_members, to_group)
    if member.group_id == to_group.id:
        return member
    from_group = member.group
    db.session.add(
        GroupChange(
            member=member,
            from_group=from_group,
            to_group=to_group,
            changed_by_id=staff.id if staff else None,
            reason=reason,
        )
    )
    member.group = to_group
    db.session.flush()
    record(
        "member.change_group",
        staff=staff,
        target=member,
        from_group=from_group.id,
        to_group=to_group.id,
        reason=reason,
    )
    return member


def transfer_member(member: Member, to_group: Group, *, staff: Staff, reason: str = "") -> Member:
    """转会 asked for by a staff member: unlike the roster import's `change_group`, where an unchanged
    group is nothing to do, choosing the group the member is already in is a mistake to point out."""
    if member.group_id == to_group.id:
        raise ValidationFailed(errors={"group_id": ["请选择与现在不同的组织"]})
    return change_group(member, to_group, staff=staff, reason=reason)


def set_member_status(
    member: Member, status: MemberStatus, *, staff: Staff | None, reason: str = ""
) -> Member:
    """离会 / 恢复: a member who leaves keeps their history, and their app sessions end at once."""
    if staff is not None:
        _require(staff, Permission.edit_members, member.group)
    if member.status == status:
        return member
    previous = member.status
    member.status = status
    member.left_on = local_today() if status == MemberStatus.left else None
    if status != MemberStatus.active and member.wechat_account is not None:
        revoke_all_tokens(member.wechat_account)
    db.session.flush()
    record(
        "member.status",
        staff=staff,
        target=member,
        from_status=previous.value,
        to_status=status.value,
        reason=reason,
    )
    return member


# --- join requests -----------------------------------------------------------------------------


def approve_join_request(request: JoinRequest, *, staff: Staff, group: Group, comment: str = "") -> Member:
    """Puts the applicant on the roster in `group` and binds their WeChat account."""
    if not staff.can_review(request):
        raise NotFound()
    _require(staff, Permission.review_join_requests, group)
    # Two reviewers pressing "approve" at once: the second waits here for the first to finish, then
    # finds the request decided (instead of adding the same 工号 to the roster a second time).
    db.session.refresh(request, with_for_update=True)
    if request.status != JoinRequestStatus.pending:
        raise InvalidState("该申请已处理，请刷新页面")
    account = request.wechat_account
    if account.member is not None:
        raise InvalidState("该微信账号已绑定会员")
    member = create_member(
        staff=None, name=request.name, employee_no=request.employee_no, group=group, phone=request.phone
    )
    # The reviewer's approval is the staff confirmation of this binding.
    if not link_account(account, member, proof=BindingProof.staff, staff=staff):
        raise InvalidState("该微信账号已绑定会员")
    _decide(request, JoinRequestStatus.approved, staff=staff, comment=comment)
    request.member = member
    db.session.flush()
    _tell_approved(request, member)
    return member


def _tell_approved(request: JoinRequest, member: Member) -> None:
    """The applicant learns of the approval in their inbox (now theirs: the account is bound), and by WeChat
    when a subscribe template is configured for kind "system" (none is in the demo set: inbox only)."""
    comment = request.decision_comment
    notify(
        member,
        kind="system",
        title="入会申请已通过",
        body="您的入会申请已通过，欢迎加入工会。" + (f"\n工会留言：{comment}" if comment else ""),
        link=None,
        dedupe_key=f"join_request:{request.id}:decided",
        data={"status": "已通过", "note": "欢迎加入工会", "updated_at": request.decided_at},
    )


def reject_join_request(request: JoinRequest, *, staff: Staff, comment: str) -> JoinRequest:
    if not staff.can_review(request):
        raise NotFound()
    if request.status != JoinRequestStatus.pending:
        raise InvalidState("该申请已处理，请刷新页面")
    if not comment.strip():
        raise ValidationFailed(errors={"comment": ["请填写不通过的原因，申请人会看到"]})
    _decide(request, JoinRequestStatus.rejected, staff=staff, comment=comment)
    db.session.flush()
    _tell_rejected(request)
    return request


def _tell_rejected(request: JoinRequest) -> None:
    """A rejected applicant has no roster entry: the message goes to the WeChat account that asked
    (its inbox, and WeChat as for an approval), with the reason the reviewer gave."""
    notify(
        request.wechat_account,
        kind="system",
        title="入会申请未通过",
        body=f"您的入会申请未通过。\n原因：{request.decision_comment}\n"
        "如有疑问，请联系所在单位的工会；信息有误可修改后重新申请。",
        link=None,
        dedupe_key=f"join_request:{request.id}:decided",
        data={"status": "未通过", "note": request.decision_comment, "updated_at": request.decided_at},
    )


def _decide(request: JoinRequest, status: JoinRequestStatus, *, staff: Staff, comment: str) -> None:
    request.status = status
    request.decided_at = utcnow()
    request.decided_by_id = staff.id
    request.decision_comment = comment.strip()
    record(f"join_request.{status.value}", staff=staff, target=request, comment=comment.strip())


# --- the group tree ----------------------------------------------------------------------------


def create_group(name: str, *, parent: Group | None, staff: Staff | None) -> Group:
    name = name.strip()
    if not name:
        raise ValidationFailed(errors={"name": ["请填写组织名称"]})
    if staff is not None:
        if parent is None:
            raise PermissionDenied("只能在您负责的组织下新建下级组织")
        _require(staff, Permission.manage_groups, parent)
    same_parent = Group.parent_id.is_(None) if parent is None else Group.parent_id == parent.id
    if db.session.scalar(sa.select(Group.id).where(Group.name == name, same_parent)) is not None:
        raise ValidationFailed(errors={"name": ["同一上级下已有同名组织"]})
    group = Group(name=name, parent=parent)
    db.session.add(group)
    db.session.flush()
    group.path = f"{parent.path if parent else '/'}{group.id}/"
    db.session.flush()
    record("group.create", staff=staff, target=group, name=name)
    return group


def rename_group(group: Group, name: str, *, staff: Staff) -> Group:
    _require(staff, Permission.manage_groups, group)
    name = name.strip()
    if not name:
        raise ValidationFailed(errors={"name": ["请填写组织名称"]})
    clash = db.session.scalar(
        sa.select(Group.id).where(
            Group.name == name, Group.parent_id == group.parent_id, Group.id != group.id
        )
    )
    if clash is not None:
        raise ValidationFailed(errors={"name": ["同一上级下已有同名组织"]})
    old = group.name
    group.name = name
    db.session.flush()
    record("group.rename", staff=staff, target=group, old=old, new=name)
    return group


def delete_group(group: Group, *, staff: Staff) -> None:
    _require(staff, Permission.manage_groups, group)
    if group.parent_id is None or staff.scope_group_id == group.id:
        raise PermissionDenied("不能删除您负责的最上级组织")
    has_children = db.session.scalar(sa.select(Group.id).where(Group.parent_id == group.id).limit(1))
    has_members = db.session.scalar(sa.select(Member.id).where(Member.group_id == group.id).limit(1))
    if has_children is not None or has_members is not None:
        raise GroupNotEmpty()
    try:
        with db.session.begin_nested():
            db.session.delete(group)
            db.session.flush()
    except IntegrityError as exc:
        # Still named by history (transfers, join requests, staff scopes): keep it, say why.
        raise GroupNotEmpty("该组织仍被历史记录或工作人员权限引用，不能删除，可改名保留") from exc
    record("group.delete", staff=staff, target=None, group_id=group.id, name=group.name)
