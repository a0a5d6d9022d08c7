"""`flask import-roster`: the roster import at the shell, with a progress bar and a row-by-row report."""

from __future__ import annotations

from pathlib import Path

import click

from backend.db import unit_of_work
from backend.errors import ValidationFailed
from backend.members.roster.importing import import_rows
from backend.members.roster.reading import read_rows


def run_cli_import(path: Path, *, dry_run: bool) -> None:
    """`flask import-roster`: valid rows are committed; bad rows are listed and the exit code is 1."""
    try:
        rows = read_rows(path.read_bytes(), path.name)
    except ValidationFailed as exc:
        raise click.ClickException(exc.message) from exc
    with unit_of_work(), click.progressbar(length=len(rows), label="检查中" if dry_run else "导入中") as bar:
        shown = 0

        def advance(done: int, total: int) -> None:
            nonlocal shown
            bar.update(done - shown)
            shown = done

        report = import_rows(rows, staff=None, dry_run=dry_run, progress=advance)
    verb = "将" if dry_run else "已"
    click.echo(
        f"共 {report.total} 行：{verb}新增 {report.created}，{verb}更新 {report.updated}，"
        f"无变化 {report.unchanged}，有误 {len(report.errors)}"
    )
    for error in report.errors:
        click.echo(
            f"  第 {error.row_number} 行（工号 {error.employee_no or '空'}）：{'；'.join(error.reasons)}"
        )
    if dry_run:
        click.echo("试运行：未写入任何数据。")
    if report.errors:
        kept = "其余各行已导入" if not dry_run else "请修改后重新导入"
        raise click.ClickException(f"{len(report.errors)} 行有误，未导入；{kept}")
