"""The admin's one Blueprint, and what every admin request shares: login, permissions, layout data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from flask import Blueprint, Response, abort, flash, redirect, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from admin import sessions
from backend.db import unit_of_work
from backend.errors import Conflict, DomainError, ValidationFailed
from backend.extensions import db, login_manager
from backend.staff.models import Staff
from backend.staff.permissions import Permission

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
)

if TYPE_CHECKING:
    from admin.forms import Form

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

# Pages anyone may open: the login page itself and the stylesheet it uses.
PUBLIC_ENDPOINTS = frozenset({"admin.login", "admin.static"})


def current_staff() -> Staff:
    return cast(Staff, current_user._get_current_object())


@bp.before_request
def _require_login() -> Any:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    sessions.touch()
    return None


@bp.after_request
def _no_store(response: Response) -> Response:
    # Pages carry personal data: keep them out of shared browser caches and other sites' frames.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


# Scripts only from admin/static (no inline script, no on* attributes, no javascript: links: a test
# checks the templates), so markup that slips past escaping cannot run. Styles may still be inline.
# Announcement bodies may show https images (backend/announcements/sanitize.py).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def security_headers(response: Response) -> Response:
    """Every response under /admin, also one no admin route answered (a 404 the app handled)."""
    if request.path == "/admin" or request.path.startswith("/admin/"):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Admin URLs carry searches (a phone number in ?q=): never send them to another site.
        response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


MAX_PAGE = 100_000


def page_arg() -> int:
    """The ``?page=`` of a list, clamped to 1 … MAX_PAGE (a huge number would overflow the OFFSET)."""
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE)


def permission_required(permission: Permission) -> Callable[[F], F]:
    """A role that lacks the permission gets 403 (before any object is loaded, so nothing leaks)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_staff().can(permission):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


NAV = (
    ("dashboard", "工作台", "admin.dashboard", None),
    ("members", "会员名册", "admin.members_list", Permission.view_members),
    ("groups", "组织架构", "admin.groups_tree", Permission.manage_groups),
    ("join_requests", "入会审核", "admin.join_requests_list", Permission.review_join_requests),
    ("roster", "导入名册", "admin.roster_upload", Permission.import_roster),
    ("announcements", "公告通知", "admin.announcements_list", Permission.manage_announcements),
    ("activities", "活动报名", "admin.activities_list", Permission.manage_activities),
    ("hardship", "困难帮扶", "admin.hardship_queue", Permission.review_hardship),
    ("care", "关怀慰问", "admin.care_visits", Permission.record_care_visits),
    ("staff", "后台账号", "admin.staff_list", Permission.manage_staff),
    ("audit", "审计日志", "admin.audit_list", Permission.view_audit_log),
)


def layout_user() -> dict[str, Any] | None:
    """The signed-in staff member as the layout shows them, or None.

    Error pages render this too, possibly after a database failure: never let it raise.
    """
    try:
        user = current_user._get_current_object()
        if not getattr(user, "is_authenticated", False):
            return None
        staff = cast(Staff, user)
        return {
            "name": staff.display_name,
            "role": staff.role_label,
            "scope": staff.scope.name,
            "nav": [item for item in NAV if item[3] is None or staff.can(item[3])],
        }
    except (SQLAlchemyError, RuntimeError):
        db.session.rollback()
        return None


# Refusals that belong on the form the user just sent; NotFound and the like become error pages.
FORM_ERRORS: tuple[type[DomainError], ...] = (ValidationFailed, Conflict)


@dataclass
class FormResult(Generic[T]):
    """What a form page's POST came to: the operation's result, or the status to show the form with."""

    status: int
    value: T | None = None

    @property
    def saved(self) -> bool:
        return self.status == 0


def save_form(
    form: Form,
    save: Callable[[], T],
    *,
    field: str | None = None,
    errors: tuple[type[DomainError], ...] = FORM_ERRORS,
    field_for: Callable[[DomainError], str | None] | None = None,
) -> FormResult[T]:
    """A form page's POST: validate, then run `save` (an operation) in one transaction.

    `saved` with the operation's result when it saved (the view flashes and redirects). Otherwise the
    status to show the form again with: 200 when nothing was sent, 422 for the form's own checks, or the
    status of a refusal among `errors`, which is shown on the form (on `field`, or the field that
    `field_for` names for it, when the refusal names no field itself).
    """
    if not form.validate_on_submit():
        return FormResult(422 if form.errors else 200)
    try:
        with unit_of_work():
            value = save()
    except errors as error:
        form.apply_error(error, field=field_for(error) if field_for else field)
        return FormResult(error.status)
    return FormResult(0, value)


Message = str | tuple[str, str]  # a flash message, or (message, category) when it is not "success"


def post_action(
    op: Callable[[], T],
    *,
    success: Message | Callable[[T], Message],
    redirect_to: str,
    refused: Callable[[DomainError], str] = lambda error: error.message,
    refused_to: str | None = None,
    errors: tuple[type[DomainError], ...] = FORM_ERRORS,
) -> Response:
    """A button's POST (publish, withdraw, delete …): run `op` in one transaction, flash what came of
    it, and go back to `redirect_to`. A refusal among `errors` is flashed (worded by `refused`), and
    goes to `refused_to` when given; any other error is an error page. The CSRF token was checked by
    CSRFProtect before the view ran.
    """
    try:
        with unit_of_work():
            value = op()
    except errors as error:
        flash(refused(error), "error")
        return redirect(refused_to or redirect_to)
    else:
        message = success(value) if callable(success) else success
        text, category = (message, "success") if isinstance(message, str) else message
        flash(text, category)
    return redirect(redirect_to)
