"""What WeChat's subscribe pushes change: the credits of the account they name.

``/wechat/callback`` (backend/wechat/callback.py) verifies and decodes a push, then hands its items here
as ``(template_id, status)`` pairs. The rules:

- ``subscribe_msg_popup_event``: each ``accept`` of a configured template is one tap, recorded as a
  grant from WeChat's push (paired with the mini-program's own report of the same tap, if any:
  backend/notifications/subscriptions.py). Only the first ``POPUP_MAX_ITEMS`` items of one push count:
  the popup (``wx.requestSubscribeMessage``) asks for at most 3 templates at once, so a longer ``List``
  is not a worker's tap, and a push must not mint credits by the thousand;
- ``subscribe_msg_change_event``: a ``reject`` means the member turned the template off in WeChat's
  settings; its credits become 0;
- a template not in WECHAT_TEMPLATES is not ours and is ignored, and so is an openid we do not know.

Runs in the caller's transaction (flush, never commit). A module of its own because it needs both
operations.py (credits, templates) and subscriptions.py (grants), and operations.py imports the latter.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from backend.members.models import WechatAccount
from backend.members.privacy import account_by_openid
from backend.notifications.models import GrantSource
from backend.notifications.operations import kind_of_template, set_credit
from backend.notifications.subscriptions import record_accepts

__all__ = ["POPUP_MAX_ITEMS", "apply_subscription_changes", "record_popup_accepts"]

log = logging.getLogger(__name__)

# WeChat's popup shows at most 3 templates; room to spare for a future change, none for a flood.
POPUP_MAX_ITEMS = 10


def _account(openid: str) -> WechatAccount | None:
    return account_by_openid(openid) if openid else None


def record_popup_accepts(openid: str, results: Iterable[tuple[str, str]]) -> bool:
    """A popup push: one grant (source ``push``) per ``accept`` of a known template among its first
    ``POPUP_MAX_ITEMS`` items, duplicates included (two taps in one push are two credits); the items
    past the cap are ignored and logged. False when the openid is not one of ours."""
    account = _account(openid)
    if account is None:
        return False
    items = list(results)
    if len(items) > POPUP_MAX_ITEMS:
        log.warning("popup push with %d items; only the first %d count", len(items), POPUP_MAX_ITEMS)
    known = kind_of_template()
    accepted = [
        template_id
        for template_id, status in items[:POPUP_MAX_ITEMS]
        if template_id in known and status == "accept"
    ]
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
