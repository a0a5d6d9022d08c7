"""Signing in and out of the admin (Flask-Login), with throttled login attempts; 修改密码 (one's own)."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from limits import RateLimitItemPerSecond, parse
from werkzeug.wrappers import Response

from admin import sessions
from admin.blueprint import bp, current_staff, save_form
from admin.forms import ChangePasswordForm, EmptyForm, LoginForm
from backend.db import unit_of_work
from backend.extensions import db, limiter, login_manager
from backend.http_errors import html_error
from backend.staff.models import Staff
from backend.staff.operations import authenticate_staff, change_own_password, end_sessions

log = logging.getLogger(__name__)

login_manager.login_view = "admin.login"
login_manager.login_message = "请先登录管理后台"
login_manager.login_message_category = "warning"


@login_manager.user_loader
def load_staff(user_id: str) -> Staff | None:
    """Staff.get_id() is "id:session_version": a bumped version (disabled, password changed) ends it.

    A disabled account also counts as signed out without a bump: UserMixin.is_authenticated is is_active.
    A session past its idle or absolute limit (admin/sessions.py) is signed out as well.
    """
    if sessions.expired():
        return None
    staff_id, _, version = user_id.partition(":")
    if not staff_id.isdigit() or not version.isdigit():
        return None
    staff = db.session.get(Staff, int(staff_id))
    if staff is None or staff.session_version != int(version):
        return None
    return staff


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another host, a scheme, or a protocol-relative URL."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def _login_limit() -> str:
    return current_app.config["ADMIN_LOGIN_RATE_LIMIT"]


def _failed(response: Response) -> bool:
    # Only failed attempts count: a busy office behind one address can still sign in all day.
    return response.status_code != 302


LOGIN_THROTTLED = "登录尝试次数过多，为保护账号安全请稍等一分钟再试"


class _AccountGuard:
    """Failed logins for one username, counted across all addresses.

    The address limit (the decorator on the view) stops one client from guessing at all. The account
    limit must not lock the account everywhere (anyone could then keep the chair out by typing wrong
    passwords): once the username has used up its failures, every address may still try it, but each
    only until its first failure in the window. So the person with the right password gets in from
    their own computer, and a guesser spread over many addresses gets one guess per address and window
    (answered 429 either way when wrong, so the refusal tells nothing new).
    """

    def __init__(self, username: str) -> None:
        name = username.strip().lower()[:50]
        self.account = parse(_login_limit())
        self.per_address = RateLimitItemPerSecond(1, self.account.get_expiry())
        self.account_key = ("admin-login-user", name)
        self.address_key = ("admin-login-user-address", name, request.remote_addr or "")

    def _used_up(self) -> bool:
        return not limiter.limiter.test(self.account, *self.account_key)

    def blocked(self) -> bool:
        """The account has used up its failures and this address already failed for it."""
        try:
            return self._used_up() and not limiter.limiter.test(self.per_address, *self.address_key)
        except Exception:  # the limiter's storage (Redis) is down or holds junk: fail open, like the limiter
            log.warning("admin login: account throttle unavailable, not applied", exc_info=True)
            return False

    def failed(self) -> bool:
        """Counts a wrong password; True when the account had already used up its failures."""
        try:
            used_up = self._used_up()
            limiter.limiter.hit(self.account, *self.account_key)
            limiter.limiter.hit(self.per_address, *self.address_key)
        except Exception:  # as in `blocked`: the address limit (the view's decorator) still holds
            log.warning("admin login: account throttle unavailable, failure not counted", exc_info=True)
            return False
        return used_up

    def throttled(self) -> Any:
        reset = limiter.limiter.get_window_stats(self.per_address, *self.address_key).reset_time
        body, status = html_error(429, LOGIN_THROTTLED)
        return body, status, {"Retry-After": str(max(int(reset - time.time()), 1))}


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
def login() -> Any:
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target or url_for("admin.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        guard = _AccountGuard(form.username.data or "")
        if guard.blocked():
            return guard.throttled()
        with unit_of_work():
            staff = authenticate_staff(form.username.data or "", form.password.data or "")
        if staff is not None:
            session.clear()
            session.permanent = True
            login_user(staff)
            sessions.start()
            flash(f"欢迎，{staff.display_name}", "success")
            return redirect(target or url_for("admin.dashboard"))
        if guard.failed():
            return guard.throttled()
        form.password.errors = ["登录名或密码不正确，或账号已停用"]
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
def logout() -> Any:
    EmptyForm()  # CSRFProtect has already checked the token before the view runs.
    with unit_of_work():
        end_sessions(current_staff())  # a copy of this cookie stops working too
    logout_user()
    session.clear()
    flash("您已安全退出", "success")
    return redirect(url_for("admin.login"))


def _password_staff_key() -> str:
    # Runs before the login check: an anonymous caller has no id (and is sent to the login page).
    return f"admin-password-staff:{getattr(current_user, 'id', '')}"


def _wrong_current_password(response: Response) -> bool:
    # Like the login, only guesses count: a typo in the new password twice does not use up the limit.
    return bool(g.get("wrong_current_password"))


@bp.route("/password", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_wrong_current_password)
@limiter.limit(
    _login_limit, key_func=_password_staff_key, methods=["POST"], deduct_when=_wrong_current_password
)
def change_password() -> Any:
    """修改密码: any signed-in staff member, proving it with the current password."""
    staff = current_staff()
    form = ChangePasswordForm()
    result = save_form(
        form,
        lambda: change_own_password(
            staff, current_password=form.current_password.data or "", new_password=form.password.data or ""
        ),
        field="password",
    )
    if result.saved and result.value:
        # session_version moved on: every other browser is signed out; this one signs in again.
        login_user(staff)
        flash("密码已修改。您在其他电脑或浏览器上的登录已全部退出", "success")
        return redirect(url_for("admin.dashboard"))
    if result.saved:  # the wrong current password (audited, and committed with that row)
        g.wrong_current_password = True
        form.current_password.errors = ["当前密码不正确，请重新输入"]
        return render_template("admin/account/password.html", form=form), 422
    return render_template("admin/account/password.html", form=form), result.status
