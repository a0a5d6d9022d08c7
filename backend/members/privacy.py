"""A member's own data: export everything held about them, and delete their account.

Retention rule (what ``delete_account`` erases and what it keeps):

- **Erased:** the WeChat account (openid, unionid, session key), every session token, the join
  requests (name, employee number, phone as typed into the app), the subscribe credits and grants,
  the member's inbox (all notifications), and the files they uploaded that no record uses (their
  files go once the deletion has committed). After this no token works and the openid is unknown to
  us; logging in again starts a fresh, unbound account.
- **Kept with the record:** a file the member attached to a request the union acted on (a care
  request, a hardship application) belongs to that case file and follows its retention.
- **Roster kept, unbound:** a member whose roster status is ``active`` or ``left`` stays on the roster
  as it is. The roster is the union's own membership record (kept by union rules whether or not the
  person uses the mini-program, and maintained by staff), not data the app collected; deleting the
  app account only removes the link between the roster entry and WeChat.
- **Roster anonymised:** a member still ``pending`` (never confirmed on the roster) has no status the
  union must keep, so name, employee number, phone and birthday are replaced by placeholders; the row
  stays so that history referring to it (audit, group moves) remains consistent.
- **Refused bindings kept, unlinked:** an attempt of this account to bind to a roster member that was
  refused (wrong name or phone) is a security record about that member's 工号; it stays, without the
  link to the deleted account.
- **Activities:** registrations for activities still to come are withdrawn (a freed seat goes to the
  waitlist) and deleted; those of activities that have ended stay as anonymised rows (no member, no
  answers), since a past activity's sign-in sheet is a financial record (backend/activities/privacy.py).
- **Hardship aid:** drafts and withdrawn applications are erased with their files (one still being
  handled is withdrawn first); decided ones, their payments and the household file stay with the roster
  entry for the retention period in the README (backend/hardship/privacy.py).
- **Care:** visits (payments are financial records) and requests staff acted on are kept; requests
  nobody acted on and the text of feedback are erased (backend/care/privacy.py says why).
- **Audit log kept:** append-only by design (DESIGN.md); a ``member.account_deleted`` row records the
  deletion itself, with no personal data in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from backend.activities.privacy import export_registrations, forget_registrations
from backend.audit.models import AuditLog
from backend.audit.operations import record
from backend.care.privacy import erase_care, export_care
from backend.db import to_local
from backend.extensions import db
from backend.hardship.privacy import erase_for_deleted_account, export_hardship
from backend.members.auth import revoke_all_tokens
from backend.members.models import (
    ApiToken,
    BindingFailure,
    JoinRequest,
    Member,
    MemberStatus,
    WechatAccount,
)
from backend.members.operations import set_phone
from backend.members.queries import group_display_path
from backend.notifications.models import Notification, SubscriptionCredit, SubscriptionGrant
from backend.notifications.queries import inbox_of
from backend.uploads.models import Upload
from backend.uploads.operations import delete_upload

if TYPE_CHECKING:
    from backend.staff.models import Staff

ANONYMISED_NAME = "已注销用户"


def _time(value: Any) -> str | None:
    local = to_local(value)
    return local.isoformat() if local is not None else None


def export_personal_data(account: WechatAccount) -> dict[str, Any]:
    """Everything held about the account's owner, sensitive values decrypted (for the owner only).

    The session key is left out: it is a credential WeChat issued to this server, not data about the
    person, and handing it out would let anyone holding the export forge user data.
    """
    member = account.member
    data: dict[str, Any] = {
        "account": {
            "id": account.id,
            "openid": account.openid,
            "unionid": account.unionid,
            "created_at": _time(account.created_at),
            "last_login_at": _time(account.last_login_at),
            "bound_at": _time(account.bound_at),
        },
        "sessions": [
            {
                "created_at": _time(t.created_at),
                "expires_at": _time(t.expires_at),
                "revoked_at": _time(t.revoked_at),
            }
            for t in db.session.scalars(
                sa.select(ApiToken).where(ApiToken.wechat_account_id == account.id).order_by(ApiToken.id)
            )
        ],
        "member": None,
        "group_history": [],
        "join_requests": [
            {
                "name": r.name,
                "employee_no": r.employee_no,
                "phone": r.phone,
                "group": group_display_path(r.group) if r.group else None,
                "status": r.status.value,
                "created_at": _time(r.created_at),
                "decided_at": _time(r.decided_at),
                "decision_comment": r.decision_comment,
            }
            for r in account.join_requests
        ],
        "refused_bindings": [
            {"reason": f.reason, "at": _time(f.created_at)}
            for f in db.session.scalars(
                sa.select(BindingFailure)
                .where(BindingFailure.wechat_account_id == account.id)
                .order_by(BindingFailure.id)
            )
        ],
        "notifications": [],
        "subscription_credits": [
            {"template_id": c.template_id, "count": c.count, "updated_at": _time(c.updated_at)}
            for c in db.session.scalars(
                sa.select(SubscriptionCredit).where(SubscriptionCredit.wechat_account_id == account.id)
            )
        ],
        "subscription_grants": [
            {"template_id": g.template_id, "source": g.source.value, "received_at": _time(g.received_at)}
            for g in db.session.scalars(
                sa.select(SubscriptionGrant)
                .where(SubscriptionGrant.wechat_account_id == account.id)
                .order_by(SubscriptionGrant.id)
            )
        ],
        "uploads": [],
        "activity_log": [],
        "activity_registrations": [],
    }
    if member is not None:
        data["member"] = {
            "id": member.id,
            "name": member.name,
            "employee_no": member.employee_no,
            # Full only once the binding is shown to be the member's own: a colleague who bound by name
            # and 工号 must not read the phone off the roster this way.
            "phone": member.phone if account.binding_proof is not None else member.phone_masked,
            "binding_proof": account.binding_proof.value if account.binding_proof else None,
            "group": group_display_path(member.group),
            "birthday": member.birthday.isoformat() if member.birthday else None,
            "joined_on": member.joined_on.isoformat() if member.joined_on else None,
            "retires_on": member.retires_on.isoformat() if member.retires_on else None,
            "status": member.status.value,
            "left_on": member.left_on.isoformat() if member.left_on else None,
            "created_at": _time(member.created_at),
        }
        data["group_history"] = [
            {
                "from_group": group_display_path(c.from_group) if c.from_group else None,
                "to_group": group_display_path(c.to_group),
                "changed_at": _time(c.changed_at),
                "reason": c.reason,
            }
            for c in member.group_changes
        ]
        data["activity_log"] = [
            {"action": a.action, "at": _time(a.at), "ip": a.ip, "user_agent": a.user_agent}
            for a in db.session.scalars(
                sa.select(AuditLog).where(AuditLog.actor_member_id == member.id).order_by(AuditLog.id)
            )
        ]
        data["uploads"] = [
            {
                "id": u.id,
                "filename": u.filename,
                "content_type": u.content_type,
                "size": u.size,
                "created_at": _time(u.created_at),
                "attached": u.attached_at is not None,
            }
            for u in db.session.scalars(
                sa.select(Upload).where(Upload.member_id == member.id).order_by(Upload.id)
            )
        ]
    data["notifications"] = [
        {
            "id": n.id,
            "kind": n.kind.value,
            "title": n.title,
            "body": n.body,
            "link": n.link,
            "created_at": _time(n.created_at),
            "read_at": _time(n.read_at),
            "wechat_state": n.wechat_state.value,
            "sent_at": _time(n.sent_at),
        }
        for n in db.session.scalars(
            sa.select(Notification).where(inbox_of(account)).order_by(Notification.id)
        )
    ]
    if member is not None:
        data["activity_registrations"] = export_registrations(member)
    if member is not None:
        data.update(export_hardship(member))
    if member is not None:
        data["care"] = export_care(member)
    record(
        "member.data_exported", member_id=member.id if member else None, target=member, account_id=account.id
    )
    return data


def delete_account(account: WechatAccount, *, reason: str = "member_request") -> None:
    """Deletes the WeChat account and the app's data about its owner (the module docstring's rule).

    ``reason``: ``member_request`` (DELETE /me) or ``wechat_cancellation`` (WeChat's push).
    """
    member = account.member
    account_id = account.id
    revoke_all_tokens(account)
    if member is not None:
        # The domains first: withdrawing an application or a registration may write a message, and
        # the member's messages are deleted after them.
        erase_for_deleted_account(member)
        forget_registrations(member)
        erase_care(member)
        db.session.execute(sa.delete(Notification).where(Notification.member_id == member.id))
        unattached = sa.select(Upload).where(Upload.member_id == member.id, Upload.attached_at.is_(None))
        for upload in db.session.scalars(unattached).all():
            delete_upload(upload)
        if member.status == MemberStatus.pending:
            _anonymise(member)
    db.session.execute(sa.delete(Notification).where(Notification.wechat_account_id == account_id))
    db.session.execute(
        sa.delete(SubscriptionCredit).where(SubscriptionCredit.wechat_account_id == account_id)
    )
    db.session.execute(sa.delete(SubscriptionGrant).where(SubscriptionGrant.wechat_account_id == account_id))
    db.session.execute(sa.delete(JoinRequest).where(JoinRequest.wechat_account_id == account_id))
    db.session.execute(sa.delete(ApiToken).where(ApiToken.wechat_account_id == account_id))
    db.session.execute(sa.delete(WechatAccount).where(WechatAccount.id == account_id))
    record(
        "member.account_deleted",
        member_id=member.id if member else None,
        target=member,
        account_id=account_id,
        reason=reason,
        roster_kept=member is not None and member.status != MemberStatus.pending,
    )
    db.session.flush()
    db.session.expunge(account)
    if member is not None:
        db.session.expire(member)


def delete_cancelled_account(openid: str) -> bool:
    """WeChat says the user cancelled or revoked the mini-program's authorisation: the same deletion as
    ``DELETE /me`` (reason ``wechat_cancellation``). False when the openid is not one of ours."""
    account = account_by_openid(openid) if openid else None
    if account is None:
        return False
    delete_account(account, reason="wechat_cancellation")
    return True


def _anonymise(member: Member) -> None:
    member.name = ANONYMISED_NAME
    member.employee_no = f"DELETED-{member.id}"
    set_phone(member, None)
    member.birthday = None
    member.retires_on = None
    db.session.flush()


def account_by_openid(openid: str) -> WechatAccount | None:
    return db.session.scalar(sa.select(WechatAccount).where(WechatAccount.openid == openid))


def reveal_phone(member: Member, *, staff: Staff, where: str) -> str | None:
    """The member's full phone number for a staff member whose role edits members (None otherwise,
    or when there is none). Every showing is an audited read, written in the caller's transaction."""
    if not staff.can_edit(member) or not member.phone:
        return None
    record("member.view_phone", staff=staff, target=member, page=where)
    return member.phone
