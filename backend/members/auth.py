"""Mini-program sessions: WeChat login codes in, opaque expiring bearer tokens out."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from backend.db import utcnow
from backend.errors import (
    InvalidLoginCode,
    RateLimited,
    WechatRiskyUser,
    WechatUnavailableError,
)
from backend.extensions import db
from backend.members.models import ApiToken, Member, WechatAccount
from backend.wechat.gateway import WechatError, WechatUnavailable, gateway

log = logging.getLogger(__name__)

# jscode2session answers: invalid code, code already used, risky user, rate limited.
INVALID_CODE_ERRCODES = frozenset({40029, 40163})
RISKY_USER_ERRCODE = 40226
RATE_LIMIT_ERRCODE = 45011


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    account: WechatAccount


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login(code: str, *, ttl: timedelta) -> IssuedToken:
    """Exchange a wx.login code for a session; creates the WeChat account on first login."""
    try:
        session = gateway.code_to_session(code)
    except WechatUnavailable as exc:
        log.warning("jscode2session unavailable: %s", exc)
        raise WechatUnavailableError() from exc
    except WechatError as exc:
        if exc.errcode in INVALID_CODE_ERRCODES:
            raise InvalidLoginCode() from exc
        if exc.errcode == RISKY_USER_ERRCODE:
            raise WechatRiskyUser() from exc
        if exc.errcode == RATE_LIMIT_ERRCODE:
            raise RateLimited() from exc
        log.error("jscode2session refused with errcode %s", exc.errcode)
        raise WechatUnavailableError() from exc

    account = db.session.scalar(sa.select(WechatAccount).where(WechatAccount.openid == session.openid))
    if account is None:
        account = WechatAccount(openid=session.openid)
        db.session.add(account)
    account.unionid = session.unionid or account.unionid
    account.session_key = session.session_key
    account.last_login_at = utcnow()
    db.session.flush()
    return issue_token(account, ttl=ttl)


def issue_token(account: WechatAccount, *, ttl: timedelta) -> IssuedToken:
    token = secrets.token_urlsafe(32)  # 256 bits
    expires_at = utcnow() + ttl
    db.session.add(ApiToken(token_hash=hash_token(token), wechat_account=account, expires_at=expires_at))
    db.session.flush()
    return IssuedToken(token=token, expires_at=expires_at, account=account)


# Every API request starts here: the account, its member and their group come in the same query (one
# round trip instead of four), built once (a statement object keeps its cache key; the sign-up rush in
# bench/signup_rush.py runs it thousands of times).
_SIGN_IN = (
    sa.select(ApiToken)
    .where(ApiToken.token_hash == sa.bindparam("token_hash"))
    .options(joinedload(ApiToken.wechat_account).joinedload(WechatAccount.member).joinedload(Member.group))
)


def authenticate(token: str) -> WechatAccount | None:
    """The account behind a bearer token, or None when it is unknown, expired or revoked."""
    if not token or len(token) > 200:
        return None
    row = db.session.scalar(_SIGN_IN, {"token_hash": hash_token(token)})
    if row is None or not row.is_valid(utcnow()):
        return None
    return row.wechat_account


def logout(token: str) -> None:
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.flush()


def revoke_all_tokens(account: WechatAccount) -> int:
    """Ends every session of an account (member left, disabled, or deleted their account)."""
    result = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.wechat_account_id == account.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount or 0


def purge_expired_tokens(*, older_than: timedelta = timedelta(days=30)) -> int:
    cutoff = utcnow() - older_than
    result = db.session.execute(sa.delete(ApiToken).where(ApiToken.expires_at < cutoff))
    return result.rowcount or 0
