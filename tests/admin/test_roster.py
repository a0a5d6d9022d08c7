"""导入名册: upload → check (writes nothing) → confirm the same file → report."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from backend.extensions import db
from backend.members.models import Member
from backend.members.roster import MAX_ROWS, reading
from backend.members.roster.reading import BLANK_RUN_ENDS_TABLE, HEADER_SEARCH_COLUMNS
from backend.staff.models import Role
from tests.admin.conftest import assert_html_error, csrf_token, html
from tests.backend.members.hostile_xlsx import bomb
from tests.factories import count, make_member

HEADER = "姓名,工号,手机号,所属组织,生日,入会日期\n"


def upload(client, content: str | bytes, filename: str = "名册.csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(
        "/admin/roster/check",
        data={"csrf_token": csrf_token(client), "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def confirm(client, page: str):
    """Confirms the checked file; the import runs as a job whose page the answer redirects to (without
    Redis the job has run by then, so that page is the report)."""
    upload_id = re.search(r'name="upload_id"[^>]*value="([^"]+)"', page).group(1)
    return client.post(
        "/admin/roster/import",
        data={"csrf_token": csrf_token(client), "upload_id": upload_id},
        follow_redirects=True,
    )


def pending_files(app) -> list[Path]:
    return list((Path(app.config["UPLOAD_DIR"]) / "roster-pending").glob("*"))


@pytest.fixture(autouse=True)
def _no_waiting_files(app):
    """UPLOAD_DIR lives as long as the test session; start each test without leftovers."""
    for path in pending_files(app):
        path.unlink()


def test_upload_page_and_templates(client, union, login_as):
    login_as(Role.officer, union.branch_a)
    body = html(client.get("/admin/roster/"))
    assert "导入会员名册" in body and "下载模板" in body
    csv_template = client.get("/admin/roster/template.csv")
    assert csv_template.status_code == 200 and "attachment" in csv_template.headers["Content-Disposition"]
    assert "姓名" in csv_template.get_data().decode("utf-8-sig")
    xlsx = client.get("/admin/roster/template.xlsx")
    assert xlsx.status_code == 200 and xlsx.get_data()[:2] == b"PK"


def test_check_then_confirm_imports_and_cleans_up(app, client, union, login_as):
    login_as(Role.officer, union.branch_a)
    content = HEADER + "张三,R001,13800001111,甲一组,1990-01-31,2020-03-01\n,R002,,甲一组,,\n"
    response = upload(client, content)
    page = html(response)
    assert response.status_code == 200 and "检查结果" in page and "尚未写入" in page
    assert re.search(r'<span class="number">1</span><span class="label">将新增', page)
    assert "R002" in page and '<td class="num">3</td>' in page  # the bad row, by spreadsheet row
    assert count(app, Member) == 0
    assert len(pending_files(app)) == 1

    response = confirm(client, page)
    assert response.status_code == 200 and "导入结果" in html(response) and "新增 1 人" in html(response)
    with app.app_context():
        member = db.session.scalar(sa.select(Member).where(Member.employee_no == "R001"))
        assert member.name == "张三" and member.group_id == union.group_a
    assert pending_files(app) == []
    assert_html_error(confirm(client, page), 404)  # the waiting file is gone with the session key
    assert count(app, Member) == 1


def test_confirm_needs_this_sessions_upload(app, client, union, login_as):
    login_as(Role.officer, union.branch_a)
    page = html(upload(client, HEADER + "张三,R001,,甲一组,,\n"))
    other = app.test_client()
    login_as(Role.officer, union.branch_a, on=other)
    assert_html_error(confirm(other, page), 404)
    forged = page.replace(re.search(r'name="upload_id"[^>]*value="([^"]+)"', page).group(1), "x" * 24)
    assert_html_error(confirm(client, forged), 404)
    assert count(app, Member) == 0


def test_out_of_scope_rows_are_reported_not_imported(app, client, union, login_as):
    make_member(app, union.group_b, employee_no="B001")
    login_as(Role.officer, union.branch_a)
    page = html(upload(client, HEADER + "乙方,B001,,甲一组,,\n新人,R009,,乙一组,,\n"))
    assert "B001" in page and "R009" in page
    assert "确认导入" not in page and "没有可以导入的内容" in page
    assert pending_files(app) == []


def test_bad_files_are_refused_in_chinese(app, client, union, login_as):
    login_as(Role.officer, union.branch_a)
    response = upload(client, "whatever", "名册.txt")
    assert response.status_code == 422 and "只支持 Excel" in html(response)
    response = upload(client, b"not really a spreadsheet", "名册.xlsx")
    assert response.status_code == 422 and 'class="error"' in html(response)
    response = upload(client, "甲,乙\n1,2\n")
    assert response.status_code == 422 and "姓名" in html(response)
    response = client.post("/admin/roster/check", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 422 and "请选择要上传的文件" in html(response)
    assert pending_files(app) == [] and count(app, Member) == 0


def test_group_leader_cannot_import(client, union, login_as):
    login_as(Role.group_leader, union.group_a)
    assert_html_error(client.get("/admin/roster/"), 403)
    assert_html_error(upload(client, HEADER), 403)


def test_the_upload_page_says_what_is_read_of_a_file(client, union, login_as):
    login_as(Role.officer, union.branch_a)
    body = html(client.get("/admin/roster/"))
    assert f"每个文件最多 {MAX_ROWS} 名会员" in body
    assert (
        f"连续 {BLANK_RUN_ENDS_TABLE} 个空行视为名册结束" in body and f"前 {HEADER_SEARCH_COLUMNS} 列" in body
    )


def test_a_spreadsheet_bomb_is_checked_as_its_real_rows(app, client, union, login_as):
    """1.6 KB declaring A1:XFD1048576, with a cell in its very last: the check reads the one member."""
    login_as(Role.officer, union.branch_a)
    response = upload(client, bomb(["张三", "R001", None, "甲一组", None, None]), "名册.xlsx")
    page = html(response)
    assert response.status_code == 200 and "检查结果" in page
    assert re.search(r'<span class="number">1</span><span class="label">将新增', page)
    assert count(app, Member) == 0


def test_a_file_over_the_row_limit_is_refused_with_the_limit_named(app, client, union, login_as, monkeypatch):
    monkeypatch.setattr(reading, "MAX_ROWS", 2)
    login_as(Role.officer, union.branch_a)
    response = upload(client, HEADER + "".join(f"职工{n},R{n},,甲一组,,\n" for n in range(3)))
    assert response.status_code == 422 and "文件超过 2 行" in html(response)
    assert pending_files(app) == [] and count(app, Member) == 0
