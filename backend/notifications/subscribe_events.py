"""What WeChat's subscribe pushes change: the credits of the account they name.

``/wechat/callback`` (backend/wechat/callback.py) verifies and decodes a push, then hands its items here
as ``(template_id, status)`` pairs. The rules:

- ``subscribe_msg_popup_event``: each ``accept`` of a configured template is one tap, recorded as a
  grant from WeChat's push (paired with the mini-program's own report of the same tap, if any:
  backend/notifications/subscriptions.py);
- ``subscribe_msg_change_event``: a ``reject`` means the member turned the template off in WeChat's
  settings; its credits become 0;
- a template not in WECHAT_TEMPLATES is not ours and is ignored, and so is an openid we do not know.

Runs in the caller's transaction (flush, never commit). A module of its own because it needs both
operations.py (credits, templates) and subscriptions.py (grants), and operations.py imports the latter.
"""

from __future__ import annotations

from collections.abc import Iterable

from backend.members.models import WechatAccount
from backend.members.privacy import account_by_openid
from backend.notifications.models import GrantSource
from backend.notifications.operations import kind_of_template, set_credit
from backend.notifications.subscriptions import record_accepts

__all__ = ["apply_subscription_changes", "record_popup_accepts"]


def _account(openid: str) -> WechatAccount | None:
    return account_by_openid(openid) if openid else None


def record_popup_accepts(openid: str, results: Iterable[tuple[str, str]]) -> bool:
    """A popup push: one grant (source ``push``) per ``accept`` of a known template, duplicates
    included (two taps in one push are two credits). False when the openid is not one of ours."""
    account = _account(openid)
    if account is None:
        return False
    known = kind_of_template()
    accepted = [template_id for template_id, status in results if template_id in known and status == "accept"]
    if accepted:
        record_accepts(account, accepted, source=GrantSource.push)
    return True


def apply_subscription_changes(openid: str, results: Iterable[tuple[str, str]]) -> bool:
    """A change push: each ``reject`` of a known template sets its credits to 0. False when the openid
    is not one of ours."""
    account = _account(openid)
    if account is None:
        return False
    known = kind_of_template()
    for template_id, status in results:
        if template_id in known and status == "reject":
            set_credit(account, template_id, 0)
    return True
