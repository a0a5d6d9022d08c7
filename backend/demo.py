"""Demo data for `make run`: a union with branches and groups, members, and one login per role; and the
guide `flask seed-demo` prints, so that a newcomer can sign in and bind a demo member at once."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from backend.announcements.models import AnnouncementCategory
from backend.announcements.operations import create_announcement, publish
from backend.care.demo import seed_care_policy
from backend.db import SHANGHAI, utcnow
from backend.extensions import db
from backend.hardship.applicant import create_application, submit_application
from backend.hardship.standards import save_standard, today
from backend.members.models import Group, Member
from backend.members.operations import create_group, create_member
from backend.staff.models import Role, Staff
from backend.staff.operations import create_staff

DEMO_PASSWORD = "demo12345"

UNION = "示范公司工会"
BRANCHES = {
    "生产分会": ["装配一组", "装配二组", "质检组"],
    "技术分会": ["研发组", "工艺组"],
    "后勤分会": ["食堂组", "物业组"],
    "销售分会": ["华东组", "华南组"],
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "志强",
    "海燕",
    "晓东",
]


@dataclass(frozen=True)
class DemoMember:
    """A roster member the README and `flask seed-demo` name, with the openid to bind them from."""

    name: str
    employee_no: str
    phone: str
    openid: str


# The first three members of the roster (E0001–E0003, in 装配一组, 装配二组, 质检组 of 生产分会), fixed so
# the README can name them; the other members are drawn at random (from a fixed seed).
DEMO_MEMBERS = (
    DemoMember("张伟", "E0001", "13900000001", "demo-openid-1"),
    DemoMember("李娜", "E0002", "13900000002", "demo-openid-2"),
    DemoMember("王强", "E0003", "13900000003", "demo-openid-3"),
)
DEMO_OPENIDS = [member.openid for member in DEMO_MEMBERS]
# The admin logins seed() creates: (username, display name).
DEMO_STAFF = (
    ("admin", "系统管理员"),
    ("chair", "工会主席"),
    ("officer", "生产分会干事"),
    ("officer2", "技术分会干事"),
    ("leader", "装配一组组长"),
)


def seed(member_count: int = 40) -> bool:
    """Loads the demo union into an empty database. Returns False (and does nothing) otherwise."""
    if db.session.scalar(sa.select(Group.id).limit(1)) is not None:
        return False
    rng = random.Random(2026)
    root = create_group(UNION, parent=None, staff=None)
    groups: list[Group] = []
    branches: list[Group] = []
    for branch_name, group_names in BRANCHES.items():
        branch = create_group(branch_name, parent=root, staff=None)
        branches.append(branch)
        groups.extend(create_group(name, parent=branch, staff=None) for name in group_names)

    for i in range(1, member_count + 1):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        phone = f"139{rng.randrange(10**8):08d}"
        if i <= len(DEMO_MEMBERS):
            name, phone = DEMO_MEMBERS[i - 1].name, DEMO_MEMBERS[i - 1].phone
        birthday = date(rng.randrange(1966, 2003), rng.randrange(1, 13), rng.randrange(1, 29))
        create_member(
            staff=None,
            name=name,
            employee_no=f"E{i:04d}",
            group=groups[(i - 1) % len(groups)],
            phone=phone,
            birthday=birthday,
            joined_on=date(rng.randrange(2005, 2026), rng.randrange(1, 13), 1),
            # the oldest retire at 60 (the roster's 退休日期 is what the union's HR gives; this is an example)
            retires_on=birthday.replace(year=birthday.year + 60) if birthday.year < 1968 else None,
        )

    production, technology = branches[0], branches[1]
    create_staff(
        username="admin",
        display_name="系统管理员",
        role=Role.admin,
        scope=root,
        password=DEMO_PASSWORD,
        by=None,
    )
    chair = create_staff(
        username="chair",
        display_name="工会主席",
        role=Role.chair,
        scope=root,
        password=DEMO_PASSWORD,
        by=None,
    )
    officer = create_staff(
        username="officer",
        display_name="生产分会干事",
        role=Role.officer,
        scope=production,
        password=DEMO_PASSWORD,
        by=None,
    )
    create_staff(
        username="officer2",
        display_name="技术分会干事",
        role=Role.officer,
        scope=technology,
        password=DEMO_PASSWORD,
        by=None,
    )
    create_staff(
        username="leader",
        display_name="装配一组组长",
        role=Role.group_leader,
        scope=groups[0],
        password=DEMO_PASSWORD,
        by=None,
    )
    _announcements(chair, officer, production)
    _activities(chair)
    _hardship(chair)
    seed_care_policy(utcnow().astimezone(SHANGHAI).year)
    return True


def _activities(chair: Staff) -> None:
    """A first-come family day with companions and a waitlist, and a 普惠 lottery (drawn at its close)."""
    from datetime import timedelta

    from backend.activities.models import ActivityCategory, Allocation
    from backend.activities.operations import ActivityDraft, save_activity
    from backend.activities.operations import publish as publish_activity
    from backend.db import utcnow

    now = utcnow().replace(minute=0, second=0, microsecond=0)
    common = {"whole_union": True, "registration_opens_at": now - timedelta(hours=1)}
    family = ActivityDraft(
        title="职工亲子运动会",
        category=ActivityCategory.sports_culture,
        description_html="<p>欢迎职工带家属参加，项目有亲子接力、拔河等。</p>",
        location="公司体育馆",
        starts_at=now + timedelta(days=7, hours=2),
        ends_at=now + timedelta(days=7, hours=5),
        registration_closes_at=now + timedelta(days=5),
        capacity=30,
        max_companions=2,
        form_fields=[{"label": "孩子年龄", "type": "number", "required": False}],
        **common,
    )
    lottery = ActivityDraft(
        title="普惠观影券抽签",
        category=ActivityCategory.benefit,
        description_html="<p>名额有限，报名截止后系统抽签，公布随机种子供复核。</p>",
        location="工会办公室领取",
        starts_at=now + timedelta(days=10),
        ends_at=now + timedelta(days=10, hours=8),
        registration_closes_at=now + timedelta(days=3),
        capacity=20,
        allocation=Allocation.lottery,
        **common,
    )
    for draft in (family, lottery):
        publish_activity(save_activity(None, draft, staff=chair), staff=chair)


def _hardship(chair: Staff) -> None:
    """This year's standard (低保 1,050 元/人/月, a fund of 300,000 元) and one submitted application."""
    save_standard(
        staff=chair,
        year=today().year,
        dibao_monthly_fen=105_000,
        fund_total_fen=30_000_000,
        category_funds={"medical": 10_000_000},
    )
    member = db.session.scalars(sa.select(Member).where(Member.employee_no == "E0005")).one()
    application = create_application(
        member,
        {
            "category": "medical",
            "reason": "爱人今年确诊尿毒症，每周透析三次，孩子在读初中，家里只有我一份工资。",
            "household_size": 3,
            "household_income_fen": 7_200_000,
            "hardship_expenses_fen": 4_800_000,
            "requested_amount_fen": 800_000,
            "consent": {"version": "2026-1", "sensitive_data": True, "income_check": True},
        },
    )
    submit_application(application.id, member)


def _announcements(chair: Staff, officer: Staff, production: Group) -> None:
    """One published to the whole union (its figures page has numbers), one draft for a branch."""
    published = create_announcement(
        staff=chair,
        title="关于开展2026年职工冬季健步走活动的通知",
        body_html="各分会：\n为丰富职工业余生活，工会定于<strong>12月5日</strong>举办冬季健步走活动。\n"
        "请各分会于11月30日前在小程序中组织报名。",
        category=AnnouncementCategory.notice,
        whole_union=True,
        pinned=True,
    )
    publish(published, staff=chair)
    create_announcement(
        staff=officer,
        title="生产分会困难职工帮扶名单公示（草稿）",
        body_html="以下职工经分会初审，拟列入本年度帮扶名单，公示期五个工作日。",
        category=AnnouncementCategory.publicity,
        whole_union=False,
        groups=[production],
    )


def _json(body: dict[str, str]) -> str:
    return json.dumps(body, ensure_ascii=False)


def _curl(url: str, body: dict[str, str], token: str | None = None) -> str:
    auth = f" -H 'Authorization: Bearer {token}'" if token else ""
    return f"curl -s -X POST {url} -H 'Content-Type: application/json'{auth} -d '{_json(body)}'"


def binding_steps(member: DemoMember, *, site_url: str, emulator_url: str) -> list[str]:
    """The four commands that bind `member` through the emulator, as a mini-program would: a login code,
    the login (its answer holds the token), a phone-number code, then the binding itself."""
    site, emulator = site_url.rstrip("/"), emulator_url.rstrip("/")
    return [
        _curl(f"{emulator}/_emulator/login-code", {"openid": member.openid}),
        _curl(f"{site}/api/v1/auth/login", {"code": "<第 1 步答复里的 code>"}),
        _curl(f"{emulator}/_emulator/phone-code", {"openid": member.openid, "phone": member.phone}),
        _curl(
            f"{site}/api/v1/me/binding",
            {"name": member.name, "employee_no": member.employee_no, "phone_code": "<第 3 步答复里的 code>"},
            token="<第 2 步答复里的 token>",
        ),
    ]


def guide(*, site_url: str, emulator_url: str) -> list[str]:
    """What `flask seed-demo` prints: the demo logins and members that are in the database (nothing
    else: a real account created later is not listed), and how to bind the first member."""
    staff = {
        s.username: s
        for s in db.session.scalars(sa.select(Staff).where(Staff.username.in_(dict(DEMO_STAFF))))
    }
    lines = [f"管理后台 {site_url.rstrip('/')}/admin/ 的演示账号（密码均为 {DEMO_PASSWORD}）："]
    lines += [
        f"  {username:<10} {staff[username].role_label}（{staff[username].scope.name}）"
        for username, _ in DEMO_STAFF
        if username in staff
    ] or ["  （库中没有演示账号）"]
    on_roster = set(
        db.session.execute(
            sa.select(Member.employee_no, Member.name).where(
                Member.employee_no.in_([m.employee_no for m in DEMO_MEMBERS])
            )
        ).tuples()
    )
    members = [m for m in DEMO_MEMBERS if (m.employee_no, m.name) in on_roster]
    if not members:
        return lines
    lines.append("小程序演示会员（已在名册中，可直接认证）：")
    lines += [f"  {m.name}  工号 {m.employee_no}  手机 {m.phone}  微信 openid {m.openid}" for m in members]
    lines.append(f"用模拟器代替微信，认证「{members[0].name}」（依次执行，把尖括号换成上一步答复里的值）：")
    steps = binding_steps(members[0], site_url=site_url, emulator_url=emulator_url)
    lines += [f"  {n}. {step}" for n, step in enumerate(steps, start=1)]
    return lines
