"""Operator commands: `flask seed-demo`, `flask create-staff`, `flask import-roster`, …"""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import Group
from backend.staff.models import ROLE_LABELS, Role


def register(app: Flask) -> None:
    # Plain click commands with @with_appcontext: `flask` and app.test_cli_runner() both get a context.
    for command in (
        seed_demo,
        create_staff,
        import_roster,
        wechat_emulator,
        purge_expired,
        run_periodic,
        rotate_data_key,
        reindex_phones,
        draw_activities,
        link_staff_member,
    ):
        app.cli.add_command(command)


def _root_group() -> Group | None:
    return db.session.scalar(sa.select(Group).where(Group.parent_id.is_(None)).order_by(Group.id))


@click.command("create-staff")
@with_appcontext
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.admin.value,
    show_default=True,
    help="admin 系统管理员 / chair 工会主席 / officer 工会干事 / group_leader 工会小组长",
)
@click.option("--name", "display_name", default=None, help="显示的姓名，默认同登录名")
@click.option("--group-id", type=int, default=None, help="负责范围（组织编号），默认整个工会")
@click.option(
    "--union-name", default="公司工会", show_default=True, help="库中还没有组织时，建立的最上级组织名称"
)
@click.password_option(help="不填则提示输入")
def create_staff(
    username: str, role: str, display_name: str | None, group_id: int | None, union_name: str, password: str
) -> None:
    """新建管理后台账号（数据库为空时同时建立最上级组织）。"""
    from backend.members.operations import create_group
    from backend.staff.operations import create_staff as create

    if len(password) < 8:
        raise click.BadParameter("密码至少 8 位", param_hint="--password")
    with unit_of_work():
        if group_id is not None:
            scope = db.session.get(Group, group_id)
            if scope is None:
                raise click.BadParameter(f"没有编号为 {group_id} 的组织", param_hint="--group-id")
        else:
            scope = _root_group() or create_group(union_name, parent=None, staff=None)
        staff = create(
            username=username,
            display_name=display_name or username,
            role=Role(role),
            scope=scope,
            password=password,
            by=None,
        )
        click.echo(f"已建立 {ROLE_LABELS[role]} 账号 {staff.username}，负责范围：{scope.name}")


@click.command("import-roster")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="只检查，不写入")
def import_roster(path: Path, dry_run: bool) -> None:
    """从 Excel（.xlsx）或 CSV 导入会员名册；按工号更新已有会员。"""
    from backend.members.roster import run_cli_import

    run_cli_import(path, dry_run=dry_run)


@click.command("wechat-emulator")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5001, show_default=True, type=int)
def wechat_emulator(host: str, port: int) -> None:
    """启动内置的微信接口模拟器（开发与测试用，切勿用于生产）。"""
    from backend.wechat.emulator import run_emulator

    config = current_app.config
    run_emulator(
        host=host,
        port=port,
        appid=config["WECHAT_APPID"],
        secret=config["WECHAT_SECRET"],
        templates=config["WECHAT_TEMPLATES"],
    )


@click.command("purge-expired")
@with_appcontext
@click.option("--days", default=30, show_default=True, help="登录令牌过期多少天后删除")
def purge_expired(days: int) -> None:
    """删除到期的数据：过期的登录令牌、一天内没有用上的上传文件、24 小时前的防重复提交记录、7 天前的订阅记录、
    10 分钟前的微信推送签名、90 天前完成的名册导入记录。

    有 Redis 和 celery beat 时每天 03:30 自动执行；单机部署请用 cron 每天运行一次。
    """
    from backend.maintenance import purge_expired as purge

    counts = purge(token_days=days)
    click.echo(
        f"已删除：过期令牌 {counts['tokens']} 个，未使用的上传文件 {counts['uploads']} 个，"
        f"防重复提交记录 {counts['idempotency_keys']} 条，"
        f"订阅与微信推送记录 {counts['subscription_records']} 条，"
        f"微信推送签名 {counts['push_nonces']} 条，名册导入记录 {counts['roster_imports']} 条"
    )


@click.command("rotate-data-key")
@with_appcontext
@click.option("--batch-size", default=500, show_default=True, help="每次提交处理的行数")
def rotate_data_key(batch_size: int) -> None:
    """用 DATA_KEY 的第一个密钥重新加密全部加密字段和上传文件，并用 DATA_INDEX_KEY 重建手机号索引。

    轮换密钥：把新密钥放在 DATA_KEY 最前面（DATA_KEY=新,旧），设置 DATA_INDEX_KEY，重启全部进程，
    再运行本命令；完成后即可从 DATA_KEY 中去掉旧密钥。中途中断时再运行一次即可。
    """
    from backend.key_rotation import rotate_data_key as rotate

    for table, count in rotate(batch_size=batch_size).items():
        note = f"（另有 {count.skipped} 行在此期间被修改过，已是新密钥）" if count.skipped else ""
        click.echo(f"{table}：重新加密 {count.rows} 行{note}")
    from backend.key_rotation import rotate_upload_files

    files = rotate_upload_files(batch_size=batch_size)
    missing = f"（{files.skipped} 个文件不在上传目录中）" if files.skipped else ""
    click.echo(f"上传文件：重新加密 {files.rows} 个{missing}")


@click.command("reindex-phones")
@with_appcontext
@click.option("--batch-size", default=500, show_default=True, help="每次提交处理的行数")
def reindex_phones(batch_size: int) -> None:
    """补齐缺少的手机号索引（如加入「手机号后四位」索引的升级之前录入的会员）。

    不重新加密，可以在系统运行时执行，重复运行无妨。补齐之前，按后四位搜索找不到这些会员。
    """
    from backend.key_rotation import fill_missing_indexes

    for table, filled in fill_missing_indexes(batch_size=batch_size).items():
        click.echo(f"{table}：补齐索引 {filled} 行")


@click.command("run-periodic")
@with_appcontext
def run_periodic() -> None:
    """运行一次定时任务（发布到期的定时公告、补发未送达的推送、继续中断的名册导入、活动抽签与活动提醒、
    困难帮扶的公示期满与复核提醒、生日祝福、困难帮扶到期清理）。

    生产环境由 celery beat 定时执行；不用 Redis 的单机部署可以用 cron 每分钟运行本命令。
    """
    from backend.jobs import publish_due_announcements, resume_stalled_imports, sweep_notifications

    published = publish_due_announcements()
    swept = sweep_notifications()
    click.echo(f"发布定时公告 {published} 条；推送：找回 {swept['recovered']} 条，待发送 {swept['due']} 条")
    resumed = resume_stalled_imports()
    if resumed:
        click.echo(f"继续执行中断的名册导入 {resumed} 个")
    from backend.jobs import (
        birthday_greetings,
        draw_activity_lotteries,
        end_hardship_publicity,
        remind_activities,
        remind_hardship_reviews,
    )

    click.echo(f"活动：抽签 {draw_activity_lotteries()} 场；提醒 {remind_activities()} 人")
    ended, reminded = end_hardship_publicity(), remind_hardship_reviews()
    click.echo(f"困难帮扶：公示期满 {ended} 件；复核提醒 {reminded} 户")
    greeted = birthday_greetings()  # once a year per member (a dedupe key), so every minute is harmless
    if greeted:
        click.echo(f"发送生日祝福 {greeted} 条")
    from backend.jobs import purge_expired_hardship

    purged = purge_expired_hardship()  # only what passed the retention period: harmless every minute
    if purged:
        click.echo(f"困难帮扶：清理超过保存期限的申请 {purged} 件")


@click.command("draw-activities")
@with_appcontext
def draw_activities() -> None:
    """为报名已截止、尚未抽签的抽签类活动抽签（定时任务也会做；多个进程同时运行也只抽一次）。"""
    from backend.jobs import draw_activity_lotteries

    click.echo(f"抽签 {draw_activity_lotteries()} 场")


@click.command("seed-demo")
@with_appcontext
@click.option(
    "--site-url", default="http://127.0.0.1:5000", show_default=True, help="网站地址（写进打印的命令里）"
)
@click.option(
    "--emulator-url", default="http://127.0.0.1:5001", show_default=True, help="微信模拟器地址（同上）"
)
def seed_demo(site_url: str, emulator_url: str) -> None:
    """载入演示数据（仅开发环境）：一个工会、若干分会与小组、会员，以及各角色的后台账号。

    然后打印演示账号、三位演示会员和认证其中一位的命令。
    """
    from backend.demo import guide, seed

    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("生产环境不能载入演示数据")
    with unit_of_work():
        created = seed()
    if created:
        click.echo("演示数据已载入。")
    else:
        click.echo("数据库里已有数据，未重复载入演示数据。")
    for line in guide(site_url=site_url, emulator_url=emulator_url):
        click.echo(line)


@click.command("link-staff-member")
@with_appcontext
@click.argument("username")
@click.argument("employee_no", required=False)
def link_staff_member(username: str, employee_no: str | None) -> None:
    """把后台账号对应到名册里的会员本人（不填工号则取消）：这个账号不能审批本人的困难帮扶申请。"""
    from backend.errors import ValidationFailed
    from backend.staff.models import Staff
    from backend.staff.operations import link_member

    with unit_of_work():
        staff = db.session.scalar(sa.select(Staff).where(Staff.username == username))
        if staff is None:
            raise click.BadParameter(f"没有登录名为 {username} 的后台账号", param_hint="USERNAME")
        try:
            link_member(staff, employee_no or "", by=None)
        except ValidationFailed as exc:
            message = "；".join(m for messages in (exc.errors or {}).values() for m in messages)
            raise click.BadParameter(message, param_hint="EMPLOYEE_NO") from exc
    click.echo(
        f"已将 {username} 对应到工号 {employee_no}" if employee_no else f"已取消 {username} 与会员的对应"
    )
