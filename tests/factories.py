"""Test data, made through the same operations the product uses (each call commits unless it says not).

What more than one test folder builds or reads lives here; a folder's own helpers.py keeps what only it uses.
"""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from backend.announcements import operations as announcement_operations
from backend.announcements import reading as announcement_reading
from backend.announcements.attachments import add_attachments
from backend.announcements.models import Announcement, AnnouncementCategory
from backend.config import DEMO_TEMPLATES
from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Group, Member, WechatAccount
from backend.members.operations import create_group, create_member
from backend.notifications.models import SubscriptionCredit
from backend.notifications.operations import add_credits, notify
from backend.staff.models import Role, Staff
from backend.staff.operations import create_staff, update_staff
from backend.uploads.operations import store_upload
from backend.uploads.storage import staged_upload, staged_uploads

PASSWORD = "test-password-1"
_seq = itertools.count(1)


@dataclass
class Union:
    """A small union: root → two branches (A, B) → one group each."""

    root: int
    branch_a: int
    branch_b: int
    group_a: int
    group_b: int


def make_union(app: Flask) -> Union:
    with app.app_context(), unit_of_work():
        root = create_group("测试公司工会", parent=None, staff=None)
        branch_a = create_group("甲分会", parent=root, staff=None)
        branch_b = create_group("乙分会", parent=root, staff=None)
        group_a = create_group("甲一组", parent=branch_a, staff=None)
        group_b = create_group("乙一组", parent=branch_b, staff=None)
        ids = Union(root.id, branch_a.id, branch_b.id, group_a.id, group_b.id)
    return ids


def make_member(app: Flask, group_id: int, **fields: Any) -> int:
    n = next(_seq)
    values: dict[str, Any] = {"name": f"测试{n}", "employee_no": f"T{n:05d}", "phone": f"1380000{n:04d}"}
    values.update(fields)
    with app.app_context(), unit_of_work():
        member = create_member(staff=None, group=db.session.get(Group, group_id), **values)
        member_id = member.id
    return member_id


def make_staff(app: Flask, role: Role | str, scope_id: int, username: str | None = None) -> int:
    username = username or f"staff{next(_seq)}"
    with app.app_context(), unit_of_work():
        staff = create_staff(
            username=username,
            display_name=username,
            role=Role(role),
            scope=db.session.get(Group, scope_id),
            password=PASSWORD,
            by=None,
        )
        staff_id = staff.id
    return staff_id


def change_staff(app: Flask, staff_id: int, *, by: int, scope_id: int | None = None, **changes: Any) -> None:
    """update_staff as the 后台账号 form sends it: every field, those not given as they are now."""
    with app.app_context(), unit_of_work():
        staff = db.session.get(Staff, staff_id)
        values: dict[str, Any] = {
            "display_name": staff.display_name,
            "role": staff.role,
            "scope": staff.scope if scope_id is None else db.session.get(Group, scope_id),
            "is_enabled": staff.is_enabled,
        }
        update_staff(staff, **{**values, **changes}, by=db.session.get(Staff, by))


def get(app: Flask, model: type, ident: int) -> Any:
    with app.app_context():
        obj = db.session.get(model, ident)
        if obj is not None:
            db.session.expunge(obj)
        return obj


def count(app: Flask, model: type, *where: Any) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


def api_login(client: FlaskClient, emu: Any, openid: str) -> str:
    """Logs in through the emulator like the mini-program would; returns the bearer token."""
    response = client.post("/api/v1/auth/login", json={"code": emu.login_code(openid)})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def bound_member(
    app: Flask, client: FlaskClient, emu: Any, group_id: int, openid: str | None = None, **fields: Any
) -> tuple[int, str]:
    """A roster member whose WeChat account is bound and logged in: (member id, token).

    Bound as the member would: with the phone code WeChat gives them for their own number, when the
    roster has one (API.md: the verified phone is the proof); without a phone, by name and 工号 alone.
    """
    member_id = make_member(app, group_id, **fields)
    member = get(app, Member, member_id)
    openid = openid or f"openid-{member.employee_no}"
    token = api_login(client, emu, openid)
    body = {"name": member.name, "employee_no": member.employee_no}
    if member.phone:
        body["phone_code"] = emu.phone_code(openid, member.phone)
    response = client.post("/api/v1/me/binding", json=body, headers=auth(token))
    assert response.status_code == 200 and response.get_json()["status"] == "active", response.get_json()
    return member_id, token


def staff_login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    """Logs a staff member in through the admin login form (with its CSRF token)."""
    page = client.get("/admin/login")
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    token = match.group(1) if match else ""
    return client.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def wechat_account(app: Flask, client: FlaskClient, emu: Any, openid: str) -> int:
    """Logs in through the emulator (which makes the WeChat account, bound to nobody); the account id."""
    api_login(client, emu, openid)
    with app.app_context():
        return db.session.scalar(sa.select(WechatAccount.id).where(WechatAccount.openid == openid))


# Announcements --------------------------------------------------------------------------------------


def make_announcement(
    app: Flask,
    staff_id: int,
    *,
    group_ids: Sequence[int] = (),
    whole_union: bool = False,
    publish: bool = True,
    publish_at: datetime | None = None,
    now: datetime | None = None,
    title: str = "关于春节放假的通知",
    body_html: str = "<p>春节放假七天。</p>",
    category: str = "notice",
    pinned: bool = False,
    push: bool = True,
) -> int:
    """An announcement written by this staff member: published (default), scheduled or left a draft."""
    with app.app_context(), unit_of_work():
        staff = db.session.get(Staff, staff_id)
        announcement = announcement_operations.create_announcement(
            staff=staff,
            title=title,
            body_html=body_html,
            category=AnnouncementCategory(category),
            whole_union=whole_union,
            groups=[db.session.get(Group, gid) for gid in group_ids],
            pinned=pinned,
            push=push,
        )
        if publish_at is not None:
            announcement_operations.schedule(announcement, staff=staff, publish_at=publish_at, now=now)
        elif publish:
            announcement_operations.publish(announcement, staff=staff, now=now)
        announcement_id = announcement.id
    return announcement_id


def act(app: Flask, announcement_id: int, operation: str, staff_id: int | None = None, **kwargs: Any) -> Any:
    """Runs one operation on an announcement in its own unit of work; returns its result."""
    with app.app_context(), unit_of_work():
        announcement = db.session.get(Announcement, announcement_id)
        if staff_id is not None:
            kwargs["staff"] = db.session.get(Staff, staff_id)
        verb = getattr(announcement_operations, operation, None) or getattr(announcement_reading, operation)
        result = verb(announcement, **kwargs)
        return result if isinstance(result, int | bool) else None


def attach(app: Flask, announcement_id: int, staff_id: int, files: Sequence[tuple[bytes, str]]) -> list[int]:
    """Attaches files (bytes, name) to a draft or scheduled announcement, as the admin's form does."""
    streams = [(BytesIO(data), name) for data, name in files]
    with app.app_context(), staged_uploads(streams) as staged, unit_of_work():
        announcement = db.session.get(Announcement, announcement_id)
        uploads = add_attachments(announcement, staged, staff=db.session.get(Staff, staff_id))
        return [upload.id for upload in uploads]


def announcement_with_files(
    app: Flask, staff_id: int, files: Sequence[tuple[bytes, str]], *, publish: bool = True, **fields: Any
) -> tuple[int, list[int]]:
    """A draft with these files attached, then published unless told not: (announcement id, upload ids)."""
    announcement_id = make_announcement(app, staff_id, publish=False, **fields)
    upload_ids = attach(app, announcement_id, staff_id, files)
    if publish:
        act(app, announcement_id, "publish", staff_id)
    return announcement_id, upload_ids


# Notifications --------------------------------------------------------------------------------------

ANNOUNCEMENT_TEMPLATE = DEMO_TEMPLATES["announcement"]["template_id"]


def send_notice(app: Flask, member_id: int, key: str = "notice:1", **fields: Any) -> int:
    """notify() an announcement in its own unit of work (delivery runs after the commit); the row id."""
    values: dict[str, Any] = {
        "kind": "announcement",
        "title": "关于开展职工运动会的通知",
        "body": "请各分会组织报名",
        "link": "pages/announcements/detail?id=5",
        "dedupe_key": key,
        "data": {"category": "通知"},
    }
    values.update(fields)
    with app.app_context(), unit_of_work():
        notification = notify(db.session.get(Member, member_id), **values)
        notification_id = notification.id
    return notification_id


def openid_of(app: Flask, member_id: int) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(WechatAccount.openid).where(WechatAccount.member_id == member_id))


def grant(app: Flask, emu: Any, member_id: int, *, wechat: int = 1, ours: int | None = None) -> None:
    """Announcement-template credits: `wechat` at the emulator, `ours` (default: same) in the ledger."""
    openid = openid_of(app, member_id)
    if wechat:
        emu.post("subscriptions", openid=openid, template_id=ANNOUNCEMENT_TEMPLATE, count=wechat)
    ours = wechat if ours is None else ours
    if ours:
        with app.app_context(), unit_of_work():
            account = db.session.scalar(sa.select(WechatAccount).where(WechatAccount.member_id == member_id))
            add_credits(account, ANNOUNCEMENT_TEMPLATE, ours)


def our_credit(
    app: Flask,
    member_id: int | None = None,
    *,
    openid: str | None = None,
    account_id: int | None = None,
    template_id: str = ANNOUNCEMENT_TEMPLATE,
) -> int:
    """The subscribe credit our ledger holds for one WeChat account (found by member, openid or id)."""
    where = [SubscriptionCredit.template_id == template_id]
    if member_id is not None:
        where.append(WechatAccount.member_id == member_id)
    if openid is not None:
        where.append(WechatAccount.openid == openid)
    if account_id is not None:
        where.append(WechatAccount.id == account_id)
    assert len(where) == 2, "name the account exactly one way"
    query = (
        sa.select(SubscriptionCredit.count)
        .join(WechatAccount, WechatAccount.id == SubscriptionCredit.wechat_account_id)
        .where(*where)
    )
    with app.app_context():
        return db.session.scalar(query) or 0


# Uploads --------------------------------------------------------------------------------------------


def png_bytes(size: tuple[int, int] = (4, 3)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (200, 16, 46)).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (4, 3)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
# Impostors: what must never be kept, whatever name it is sent under.
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 64
    + b"This program cannot be run"
)
# Starts like a JPEG, but what follows is a web page: the signature alone must not be enough.
JPEG_SIGNATURE_THEN_HTML = b"\xff\xd8\xff\xe0" + HTML


def add_upload(
    member_id: int | None = None,
    *,
    staff_id: int | None = None,
    data: bytes = PDF,
    name: str = "证明.pdf",
    attach: bool = False,
    now: datetime | None = None,
) -> int:
    """Stores a file as a door does (checked, staged, moved into place) in the caller's app context and
    transaction, owned by the member or the staff member; the upload's id."""
    with staged_upload(BytesIO(data), name) as staged:
        member = db.session.get(Member, member_id) if member_id is not None else None
        staff = db.session.get(Staff, staff_id) if staff_id is not None else None
        return store_upload(staged, member=member, staff=staff, attach=attach, now=now).id


def make_upload(app: Flask, member_id: int | None = None, **kwargs: Any) -> int:
    """add_upload in its own app context and unit of work (committed: the file stays)."""
    with app.app_context(), unit_of_work():
        return add_upload(member_id, **kwargs)


def empty_upload_dir(app: Flask) -> Path:
    """The session's UPLOAD_DIR with no upload files in it (the database is emptied per test already).

    tests/conftest.py's `upload_dir` fixture; call it directly where a fixture cannot be used.
    """
    root = Path(app.config["UPLOAD_DIR"])
    for part in ("files", "tmp"):
        shutil.rmtree(root / part, ignore_errors=True)
    return root


def stored_files(root: Path) -> list[Path]:
    """Every upload file, stored or half-received."""
    return sorted(p for part in ("files", "tmp") for p in (root / part).rglob("*") if p.is_file())


def api_upload(client: FlaskClient, token: str, data: bytes, name: str, **headers: str) -> TestResponse:
    """POST /api/v1/uploads as the mini-program sends a file (multipart, one `file` field)."""
    return client.post(
        "/api/v1/uploads",
        data={"file": (BytesIO(data), name)},
        headers={**auth(token), **headers},
        content_type="multipart/form-data",
    )


__all__ = ["PASSWORD", "Role", "Staff", "Union"]


# Activities -----------------------------------------------------------------------------------------


def make_activity(app: Flask, staff_id: int, *, publish: bool = True, **fields: Any) -> int:
    """An activity open for registration now (starting in 3 days), published unless told otherwise."""
    from datetime import timedelta

    from backend.activities import operations as activity_operations
    from backend.activities.models import ActivityCategory
    from backend.db import utcnow

    now = utcnow()
    values: dict[str, Any] = {
        "title": "职工趣味运动会",
        "category": ActivityCategory.sports_culture,
        "description_html": "<p>欢迎参加</p>",
        "location": "职工活动中心",
        "starts_at": now + timedelta(days=3),
        "ends_at": now + timedelta(days=3, hours=3),
        "registration_opens_at": now - timedelta(hours=1),
        "registration_closes_at": now + timedelta(days=2),
        "capacity": 20,
        "whole_union": True,
    }
    values.update(fields)
    with app.app_context(), unit_of_work():
        staff = db.session.get(Staff, staff_id)
        activity = activity_operations.save_activity(
            None, activity_operations.ActivityDraft(**values), staff=staff
        )
        if publish:
            activity_operations.publish(activity, staff=staff)
        activity_id = activity.id
    return activity_id
