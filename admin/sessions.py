"""How long an admin session lasts: ADMIN_SESSION_IDLE_MINUTES without a request, and
ADMIN_SESSION_MAX_HOURS after the login however busy it is.

Both times live in the signed session cookie, written at login: whoever holds a copy of the cookie
cannot move them, so a captured cookie stops working when either limit passes, even while it is used
(Flask renews the cookie on every request; the login time inside it stays). Signing out ends every
copy at once by bumping Staff.session_version (backend/staff/operations.py: end_sessions).
"""

from __future__ import annotations

import time

from flask import current_app, session

LOGIN_AT = "_admin_login_at"
SEEN_AT = "_admin_seen_at"


def now() -> float:
    """Seconds since the epoch (a function, so that a test can hold the clock)."""
    return time.time()


def start() -> None:
    """Called right after login_user(): the session's clock starts now."""
    moment = int(now())
    session[LOGIN_AT] = moment
    session[SEEN_AT] = moment


def expired() -> bool:
    """True when the session has been idle too long, is too old, or has no times at all.

    A session without times was not made by this login (an older release, a forged or hand-made
    session): it is treated as expired rather than as unlimited.
    """
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if not isinstance(login_at, int | float) or not isinstance(seen_at, int | float):
        return True
    moment = now()
    idle = current_app.config["ADMIN_SESSION_IDLE_MINUTES"] * 60
    longest = current_app.config["ADMIN_SESSION_MAX_HOURS"] * 3600
    return moment - seen_at > idle or moment - login_at > longest


def touch() -> None:
    """A request of a signed-in session: the idle time starts again (the login time stays)."""
    session[SEEN_AT] = int(now())
