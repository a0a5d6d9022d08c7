"""What the browser tests and `make screenshots` share: Chromium, a live server, a seeded union, the pages.

The app runs in a thread on 127.0.0.1 (werkzeug's `make_server`) against whatever database the caller's
app uses; Playwright drives the system's Chromium (Debian's `chromium` package: Playwright's own browser
download is not available offline), which signs in through the login form like a person.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Flask, url_for
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Group, JoinRequest, Member, MemberStatus
from backend.members.operations import change_group, create_member, set_member_status, update_member
from backend.members.roster.background import queue_import
from backend.staff.models import Role, Staff
from backend.staff.operations import create_staff
from backend.wechat.emulator import EmulatorControl
from tests.browser.activity_pages import ACTIVITY_DOWNLOADS, ACTIVITY_PAGES, seed_activity
from tests.factories import PDF, announcement_with_files, api_login, auth, make_union, png_bytes

PASSWORD = "browser-pass-1"

# Running as root (containers, CI) needs --no-sandbox; the rest keep Chromium from reaching for the
# network (updates, sync, field trials), which this offline machine does not have.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often give /dev/shm only 64 MB
]

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}


def chromium_path() -> str | None:
    """The system Chromium: $CHROMIUM, else `chromium` (Debian) or `chromium-browser` on the PATH."""
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured if os.path.exists(configured) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class LiveServer:
    """The Flask app served over real HTTP on a free loopback port, in a daemon thread."""

    def __init__(self, app: Flask) -> None:
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-admin", daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# --- the seeded union ------------------------------------------------------------------------------


@dataclass
class World:
    """The ids the pages are opened with, and the Latin-letter words the seeded data itself shows."""

    admin_username: str
    officer_id: int
    branch_a: int
    group_a: int
    member_id: int
    join_request_id: int
    published_id: int
    draft_id: int
    draft_attachment_id: int
    roster_import_id: int
    data_words: set[str] = field(default_factory=set)
    activity_id: int = 0
    hardship_id: int = 0
    hardship_upload_id: int = 0
    hardship_file_id: int = 0
    care: dict[str, int] = field(default_factory=dict)


MEMBER_NAMES = ["王建华", "李秀英", "张伟", "刘芳", "陈志强", "杨静", "赵海燕", "黄晓东", "周磊", "吴娟"]


def seed_world(app: Flask, emulator_url: str, extra_members: int = 0) -> World:
    """A union with people, a bound member, a join request, announcements and audit rows: every page
    has something to show. The database must be empty (the union's names are fixed)."""
    union = make_union(app)
    with app.app_context(), unit_of_work():
        root, branch_a = db.session.get(Group, union.root), db.session.get(Group, union.branch_a)
        groups = [db.session.get(Group, gid) for gid in (union.group_a, union.group_b, union.branch_a)]
        admin = create_staff(
            username="zhangmin", display_name="张敏", role=Role.admin, scope=root, password=PASSWORD, by=None
        )
        officer = create_staff(
            username="lihua",
            display_name="李华",
            role=Role.officer,
            scope=branch_a,
            password=PASSWORD,
            by=admin,
        )
        names = MEMBER_NAMES + [f"职工{n}号" for n in range(1, extra_members + 1)]
        members = [
            create_member(
                staff=admin,
                name=name,
                employee_no=f"{100001 + i}",
                group=groups[i % len(groups)],
                phone=f"1390000{i:04d}",
                birthday=date(1980 + i % 20, 1 + i % 12, 1 + i % 28),
                joined_on=date(2010 + i % 15, 3, 1),
            )
            for i, name in enumerate(names)
        ]
        first = members[0]
        update_member(
            first,
            staff=admin,
            name=first.name,
            employee_no=first.employee_no,
            phone="13912345678",
            birthday=first.birthday,
            joined_on=first.joined_on,
        )
        change_group(first, groups[1], staff=admin, reason="岗位调动")
        set_member_status(members[3], MemberStatus.left, staff=admin, reason="调离本单位")
        ids = (admin.id, officer.id, first.id, members[1].employee_no, members[1].name, members[1].phone)
    admin_id, officer_id, member_id, bound_no, bound_name, bound_phone = ids

    client = app.test_client()
    control = EmulatorControl(emulator_url)
    try:
        # A roster member binds their WeChat; a worker not on the roster files a join request.
        # (With the phone code WeChat gives them for the roster's number: API.md's proof.)
        token1 = api_login(client, control, "wx-browser-1")
        bound = client.post(
            "/api/v1/me/binding",
            json={
                "name": bound_name,
                "employee_no": bound_no,
                "phone_code": control.phone_code("wx-browser-1", bound_phone),
            },
            headers=auth(token1),
        )
        assert bound.status_code == 200, bound.get_json()
        token2 = api_login(client, control, "wx-browser-2")
        filed = client.post(
            "/api/v1/me/binding",
            json={"name": "孙丽", "employee_no": "200001", "group_id": union.group_a},
            headers=auth(token2),
        )
        assert filed.status_code == 200 and filed.get_json()["status"] == "pending", filed.get_json()
    finally:
        control.close()

    published_id, _ = announcement_with_files(
        app,
        admin_id,
        [(PDF, "活动安排.pdf")],
        whole_union=True,
        title="关于开展职工健步走活动的通知",
        body_html="<p>各分会：工会定于<strong>下月五日</strong>举办健步走活动，请组织报名。</p>",
    )
    draft_id, [attachment_id] = announcement_with_files(
        app,
        admin_id,
        [(png_bytes((40, 30)), "报名表.png")],
        publish=False,
        group_ids=[union.branch_a],
        title="甲分会困难职工帮扶名单公示",
        body_html="<p>以下职工拟列入本年度帮扶名单，公示期五个工作日。</p>",
        category="publicity",
    )
    with app.app_context():
        join_request_id = db.session.scalars(sa.select(JoinRequest.id)).one()
    # A finished roster import (without Redis the job runs right after the commit that queued it).
    roster = "姓名,工号,手机号,所属组织,生日,入会日期\n新人乙,300002,,甲一组,,\n无名,,,,,\n".encode()
    with app.app_context(), unit_of_work():
        roster_import_id = queue_import(roster, "名册.csv", staff=db.session.get(Staff, admin_id)).id

    activity_id = seed_activity(app, admin_id, member_id)
    hardship_id, hardship_upload_id, hardship_file_id = seed_hardship(
        app, admin_id, bound_no, members_for_file=names[4]
    )
    care = seed_care(app, admin_id, member_id, union.branch_a)
    return World(
        activity_id=activity_id,
        care=care,
        admin_username="zhangmin",
        officer_id=officer_id,
        branch_a=union.branch_a,
        group_a=union.group_a,
        member_id=member_id,
        join_request_id=join_request_id,
        published_id=published_id,
        draft_id=draft_id,
        draft_attachment_id=attachment_id,
        roster_import_id=roster_import_id,
        data_words={"zhangmin", "lihua"},
        hardship_id=hardship_id,
        hardship_upload_id=hardship_upload_id,
        hardship_file_id=hardship_file_id,
    )


def seed_hardship(app: Flask, admin_id: int, employee_no: str, members_for_file: str) -> tuple[int, int, int]:
    """This year's standard, a submitted application with a scan, and a household file due for review."""
    from datetime import timedelta
    from io import BytesIO

    from backend.hardship.applicant import create_application, submit_application
    from backend.hardship.models import FileStatus, HardshipFile, Tier
    from backend.hardship.standards import save_standard, today
    from backend.uploads.operations import store_upload
    from backend.uploads.storage import staged_uploads

    scan = [(BytesIO(png_bytes((40, 30))), "诊断证明.png")]
    with app.app_context(), staged_uploads(scan) as files, unit_of_work():
        admin = db.session.get(Staff, admin_id)
        save_standard(staff=admin, year=today().year, dibao_monthly_fen=98_000, fund_total_fen=50_000_000)
        member = db.session.scalars(sa.select(Member).where(Member.employee_no == employee_no)).one()
        upload = store_upload(files[0], member=member)
        body = {
            "category": "medical",
            "reason": "爱人患肾病长期透析，孩子上高中，家庭支出很大。",
            "household_size": 3,
            "household_income_fen": 6_000_000,
            "hardship_expenses_fen": 3_000_000,
            "requested_amount_fen": 500_000,
            "attachment_ids": [upload.id],
            "consent": {"version": "2026-1", "sensitive_data": True, "income_check": True},
        }
        application = create_application(member, body)
        submit_application(application.id, member)
        other = db.session.scalars(sa.select(Member).where(Member.name == members_for_file)).one()
        file = HardshipFile(
            member_id=other.id,
            group_id=other.group_id,
            tier=Tier.relative,
            status=FileStatus.active,
            opened_on=today() - timedelta(days=350),
            review_due_on=today() + timedelta(days=15),
        )
        db.session.add(file)
        db.session.flush()
        return application.id, upload.id, file.id


def seed_care(app: Flask, admin_id: int, member_id: int, branch_id: int) -> dict[str, int]:
    """The Anhui 2018 policy, a request, a visit with an override, a campaign run once."""
    from io import BytesIO

    from backend.care.campaigns import create_campaign, run_campaign
    from backend.care.models import CareCategory, CareRequest, ContentState
    from backend.care.visits import VisitDraft, record_visit
    from backend.members.models import Member
    from backend.uploads.operations import store_upload
    from backend.uploads.storage import staged_uploads
    from tests.care_helpers import YEAR, set_policy

    files = [(BytesIO(PDF), "住院证明.pdf"), (BytesIO(png_bytes((40, 30))), "走访照片.png")]
    with app.app_context(), staged_uploads(files) as (proof, photo), unit_of_work():
        set_policy(YEAR, budgets={CareCategory.festival: 20000, CareCategory.birthday: 3000})
        admin, member = db.session.get(Staff, admin_id), db.session.get(Member, member_id)
        request = CareRequest(
            member=member,
            category=CareCategory.hospitalization,
            description="因骨折住院，需要工会关心",
            occurred_on=date(YEAR, 5, 2),
            content_state=ContentState.held,
        )
        db.session.add(request)
        request.attachments = [store_upload(proof, member=member, attach=True)]
        draft = VisitDraft(member, CareCategory.birthday, date(YEAR, 6, 1), "李华、王强", "生日蛋糕", 40000)
        visit = record_visit(draft, staff=admin, override_reason="工会委员会研究同意", photos=[photo])
        campaign = create_campaign(
            staff=admin,
            name=f"{YEAR}年春节慰问",
            festival="春节",
            visit_on=date(YEAR, 2, 1),
            gift="米面油",
            amount_fen=80000,
            groups=[db.session.get(Group, branch_id)],
        )
        run_campaign(campaign, staff=admin)
        db.session.flush()
        ids = {"request": request.id, "visit": visit.id, "campaign": campaign.id, "member": member.id}
        return {**ids, "file": request.attachments[0].id, "photo": visit.photos[0].id}


# --- the pages ---------------------------------------------------------------------------------------

Builder = Callable[[World], str]

# Every admin page a GET opens, by endpoint: the walk opens each at both widths (test_pages.py), and
# test_every_admin_page_is_walked fails for a GET endpoint that is in neither this nor DOWNLOADS.
PAGES: dict[str, Builder] = {
    "admin.login": lambda w: url_for("admin.login"),
    "admin.dashboard": lambda w: url_for("admin.dashboard"),
    "admin.members_list": lambda w: url_for("admin.members_list"),
    "admin.member_detail": lambda w: url_for("admin.member_detail", member_id=w.member_id),
    "admin.member_new": lambda w: url_for("admin.member_new"),
    "admin.member_edit": lambda w: url_for("admin.member_edit", member_id=w.member_id),
    "admin.member_change_group": lambda w: url_for("admin.member_change_group", member_id=w.member_id),
    "admin.groups_tree": lambda w: url_for("admin.groups_tree"),
    "admin.group_new": lambda w: url_for("admin.group_new", group_id=w.branch_a),
    "admin.group_rename": lambda w: url_for("admin.group_rename", group_id=w.group_a),
    "admin.join_requests_list": lambda w: url_for("admin.join_requests_list"),
    "admin.join_requests_history": lambda w: url_for("admin.join_requests_history"),
    "admin.join_request_review": lambda w: url_for("admin.join_request_review", request_id=w.join_request_id),
    "admin.roster_upload": lambda w: url_for("admin.roster_upload"),
    "admin.roster_import_progress": lambda w: url_for(
        "admin.roster_import_progress", import_id=w.roster_import_id
    ),
    "admin.announcements_list": lambda w: url_for("admin.announcements_list"),
    "admin.announcement_new": lambda w: url_for("admin.announcement_new"),
    "admin.announcement_detail": lambda w: url_for(
        "admin.announcement_detail", announcement_id=w.published_id
    ),
    "admin.announcement_edit": lambda w: url_for("admin.announcement_edit", announcement_id=w.draft_id),
    "admin.announcement_figures": lambda w: url_for(
        "admin.announcement_figures", announcement_id=w.published_id
    ),
    "admin.staff_list": lambda w: url_for("admin.staff_list"),
    "admin.staff_new": lambda w: url_for("admin.staff_new"),
    "admin.staff_edit": lambda w: url_for("admin.staff_edit", staff_id=w.officer_id),
    "admin.staff_password": lambda w: url_for("admin.staff_password", staff_id=w.officer_id),
    "admin.audit_list": lambda w: url_for("admin.audit_list"),
    "admin.hardship_queue": lambda w: url_for("admin.hardship_queue"),
    "admin.hardship_application": lambda w: url_for(
        "admin.hardship_application", application_id=w.hardship_id
    ),
    "admin.hardship_fund": lambda w: url_for("admin.hardship_fund"),
    "admin.hardship_publicity": lambda w: url_for("admin.hardship_publicity"),
    "admin.hardship_files": lambda w: url_for("admin.hardship_files"),
    "admin.hardship_file": lambda w: url_for("admin.hardship_file", file_id=w.hardship_file_id),
    "admin.change_password": lambda w: url_for("admin.change_password"),
    **ACTIVITY_PAGES,
    "admin.care_visits": lambda w: url_for("admin.care_visits"),
    "admin.care_visit": lambda w: url_for("admin.care_visit", visit_id=w.care["visit"]),
    "admin.care_visit_new": lambda w: url_for("admin.care_visit_new", member_id=w.care["member"]),
    "admin.care_requests": lambda w: url_for("admin.care_requests"),
    "admin.care_request": lambda w: url_for("admin.care_request", request_id=w.care["request"]),
    "admin.care_campaigns": lambda w: url_for("admin.care_campaigns"),
    "admin.care_campaign_new": lambda w: url_for("admin.care_campaign_new"),
    "admin.care_campaign": lambda w: url_for("admin.care_campaign", campaign_id=w.care["campaign"]),
    "admin.care_policy": lambda w: url_for("admin.care_policy", year=2026),
    "admin.care_policy_edit": lambda w: url_for("admin.care_policy_edit", year=2026, category="festival"),
    "admin.care_policy_year": lambda w: url_for("admin.care_policy_year", year=2026),
    "admin.care_figures": lambda w: url_for("admin.care_figures", year=2026),
}

# GET endpoints that answer a file, not a page: the walk checks only that each answers 200 (and is not HTML).
DOWNLOADS: dict[str, Builder] = {
    "admin.static": lambda w: url_for("admin.static", filename="admin/admin.css"),
    "admin.roster_template": lambda w: url_for("admin.roster_template", fmt="xlsx"),
    "admin.roster_import_status": lambda w: url_for(
        "admin.roster_import_status", import_id=w.roster_import_id
    ),
    "admin.members_export": lambda w: url_for("admin.members_export"),
    "admin.audit_export": lambda w: url_for("admin.audit_export"),
    "admin.care_ledger": lambda w: url_for("admin.care_ledger", year=2026),
    "admin.care_visit_photo": lambda w: url_for(
        "admin.care_visit_photo", visit_id=w.care["visit"], upload_id=w.care["photo"]
    ),
    "admin.care_request_file": lambda w: url_for(
        "admin.care_request_file", request_id=w.care["request"], upload_id=w.care["file"]
    ),
    "admin.announcement_attachment": lambda w: url_for(
        "admin.announcement_attachment", announcement_id=w.draft_id, upload_id=w.draft_attachment_id
    ),
    **ACTIVITY_DOWNLOADS,
    "admin.hardship_attachment": lambda w: url_for(
        "admin.hardship_attachment", application_id=w.hardship_id, upload_id=w.hardship_upload_id
    ),
    "admin.hardship_ledger": lambda w: url_for("admin.hardship_ledger"),
}

# Pages reached only through a form post, walked by the test that makes the post (test_pages.py).
WALKED_AFTER_A_POST = {"admin.roster_preview": "test_roster_check_report"}

SIGNED_OUT = {"admin.login"}

# Pages for `make screenshots`, in reading order: (file name, endpoint).
SCREENSHOTS = [
    ("01-login", "admin.login"),
    ("02-dashboard", "admin.dashboard"),
    ("03-members", "admin.members_list"),
    ("04-member", "admin.member_detail"),
    ("05-member-new", "admin.member_new"),
    ("06-groups", "admin.groups_tree"),
    ("07-join-requests", "admin.join_requests_list"),
    ("08-join-request", "admin.join_request_review"),
    ("09-roster", "admin.roster_upload"),
    ("10-announcements", "admin.announcements_list"),
    ("11-announcement", "admin.announcement_detail"),
    ("12-announcement-form", "admin.announcement_edit"),
    ("13-figures", "admin.announcement_figures"),
    ("14-staff", "admin.staff_list"),
    ("15-audit", "admin.audit_list"),
]


def page_urls(app: Flask, world: World, pages: dict[str, Builder]) -> dict[str, str]:
    with app.test_request_context():
        return {endpoint: build(world) for endpoint, build in pages.items()}


# --- what a page must not show ----------------------------------------------------------------------

# The rule for "no English leftovers", on a page's visible text (document.body.innerText):
# - every word made of ASCII letters only must be one of ALLOWED_WORDS, or a word the seeded data holds
#   (World.data_words: the staff login names);
# - exempt are words with a digit in them (employee numbers, checksums: data, not prose), HTML written
#   out as an example (<strong>…</strong> in the announcement form's hint: code, not prose), and text
#   inside an element marked translate="no" (an identifier shown as such, e.g. the audit log's codes).
# Anything else is English a staff member should not meet.
ALLOWED_WORDS = frozenset(
    {
        "Excel",  # the file formats staff know by name, and file names' extensions
        "Word",
        "CSV",
        "PDF",
        "PNG",
        "JPG",
        "JPEG",
        "HTML",
        "csv",
        "xlsx",
        "pdf",
        "png",
        "jpg",
        "jpeg",
        "KB",  # file sizes (backend.uploads.storage.human_size)
        "MB",
        "ID",
        "IP",
        "WeChat",
        "Ctrl",  # "按住 Ctrl 可多选"
    }
)
HTML_EXAMPLE = re.compile(r"</?[A-Za-z][^<>]*>")
WORD = re.compile(r"[A-Za-z0-9]+")

# The visible text without what the rule exempts by element (translate="no").
VISIBLE_PROSE_JS = """() => {
    let text = document.body.innerText;
    for (const el of document.querySelectorAll('[translate="no"]')) {
        text = text.replace(el.innerText, " ");
    }
    return text + " " + document.title;
}"""


def english_leftovers(text: str, data_words: set[str]) -> list[str]:
    words = WORD.findall(HTML_EXAMPLE.sub(" ", text))
    return sorted(
        {
            w
            for w in words
            if not any(c.isdigit() for c in w) and w not in ALLOWED_WORDS and w not in data_words
        }
    )


def sign_in(page: Any, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Through the login form, as a person does it."""
    page.goto(base_url + "/admin/login")
    page.get_by_label("登录名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/admin/$"))


@contextmanager
def signed_in_context(browser: Any, base_url: str, username: str, viewport: dict[str, int]) -> Iterator[Any]:
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        sign_in(context.new_page(), base_url, username)
        yield context
    finally:
        context.close()
