"""Signing in and out of the admin (Flask-Login), with throttled login attempts."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from admin.blueprint import bp
from admin.forms import EmptyForm, LoginForm
from backend.db import unit_of_work
from backend.extensions import db, limiter, login_manager
from backend.staff.models import Staff
from backend.staff.operations import authenticate_staff

login_manager.login_view = "admin.login"
login_manager.login_message = "请先登录管理后台"
login_manager.login_message_category = "warning"


@login_manager.user_loader
def load_staff(user_id: str) -> Staff | None:
    """Staff.get_id() is "id:session_version": a bumped version (disabled, password changed) ends it.

    A disabled account also counts as signed out without a bump: UserMixin.is_authenticated is is_active.
    """
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


def _username_key() -> str:
    return "admin-login-user:" + request.form.get("username", "").strip().lower()[:50]


def _failed(response: Response) -> bool:
    # Only failed attempts count: a busy office behind one address can still sign in all day.
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(_login_limit, key_func=_username_key, methods=["POST"], deduct_when=_failed)
def login() -> Any:
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target or url_for("admin.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        with unit_of_work():
            staff = authenticate_staff(form.username.data or "", form.password.data or "")
        if staff is not None:
            session.clear()
            session.permanent = True
            login_user(staff)
            flash(f"欢迎，{staff.display_name}", "success")
            return redirect(target or url_for("admin.dashboard"))
        form.password.errors = ["登录名或密码不正确，或账号已停用"]
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
def logout() -> Any:
    EmptyForm()  # CSRFProtect has already checked the token before the view runs.
    logout_user()
    session.clear()
    flash("您已安全退出", "success")
    return redirect(url_for("admin.login"))
