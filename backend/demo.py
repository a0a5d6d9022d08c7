"""Demo data for `make run`: a union with branches and groups, members, and one login per role."""

from __future__ import annotations

import random
from datetime import date

import sqlalchemy as sa

from backend.announcements.models import AnnouncementCategory
from backend.announcements.operations import create_announcement, publish
from backend.extensions import db
from backend.members.models import Group
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

# openids the emulator's demo users log in with; the first ones match roster members.
DEMO_OPENIDS = ["demo-openid-1", "demo-openid-2", "demo-openid-3"]


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
        create_member(
            staff=None,
            name=name,
            employee_no=f"E{i:04d}",
            group=groups[(i - 1) % len(groups)],
            phone=f"139{rng.randrange(10**8):08d}",
            birthday=date(rng.randrange(1966, 2003), rng.randrange(1, 13), rng.randrange(1, 29)),
            joined_on=date(rng.randrange(2005, 2026), rng.randrange(1, 13), 1),
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
    return True


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
