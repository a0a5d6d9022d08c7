"""Test data, made through the same operations the product uses (each call commits)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Group, Member
from backend.members.operations import create_group, create_member
from backend.staff.models import Role, Staff
from backend.staff.operations import create_staff

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
    import re

    page = client.get("/admin/login")
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    token = match.group(1) if match else ""
    return client.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


__all__ = ["PASSWORD", "Role", "Staff", "Union"]
