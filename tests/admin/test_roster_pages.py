"""导入名册's pages (issue 12, point 9): the check lists who will be added, updated or moved a page at a
time; the confirmed import is a job with a progress page that roster.js polls; the upload page names the
required columns as the README does."""

from __future__ import annotations

import re

import pytest

from backend.members.roster import background, reading
from backend.staff.models import Role
from tests.admin.conftest import assert_html_error, html
from tests.admin.test_roster import HEADER, confirm, upload
from tests.conftest import project_root
from tests.factories import make_member


@pytest.fixture(autouse=True)
def _no_waiting_files(app):
    from tests.admin.test_roster import pending_files

    for path in pending_files(app):
        path.unlink()


def listed_numbers(page: str) -> list[str]:
    """The 工号 column of the check page's table."""
    return re.findall(r'<td class="num">\d+</td><td>([^<]+)</td>', page)


def test_the_check_lists_who_is_added_updated_and_moved_a_page_at_a_time(app, client, union, login_as):
    make_member(app, union.group_a, name="王五", employee_no="E009")
    make_member(app, union.group_a, name="赵六", employee_no="E010")
    login_as(Role.officer, union.root)
    new = "".join(f"新人{n},N{n:03d},,甲一组,,\n" for n in range(60))
    page = html(upload(client, HEADER + new + "王五五,E009,,甲一组,,\n赵六,E010,,乙一组,,\n"))
    assert re.search(r'<span class="number">1</span><span class="label">其中转会', page)
    assert listed_numbers(page) == [f"N{n:03d}" for n in range(50)]  # no errors: the additions first
    assert 'aria-current="page">将新增 <span class="count">60</span>' in page
    assert "/admin/roster/check?page=2" in page

    second = html(client.get("/admin/roster/check?page=2"))
    assert listed_numbers(second) == [f"N{n:03d}" for n in range(50, 60)]
    updated = html(client.get("/admin/roster/check?show=update"))
    assert listed_numbers(updated) == ["E009"] and "王五五" in updated and "<td>姓名</td>" in updated
    moved = html(client.get("/admin/roster/check?show=move"))
    assert listed_numbers(moved) == ["E010"] and "<td>乙分会/乙一组</td><td>甲分会/甲一组</td>" in moved
    assert "确认导入" in moved  # every page of the check can be confirmed


def test_the_check_shows_the_rows_in_error_first(client, union, login_as):
    login_as(Role.officer, union.branch_a)
    page = html(upload(client, HEADER + "张三,R001,,甲一组,,\n,R002,,甲一组,,\n"))
    assert listed_numbers(page) == ["R002"] and "缺少姓名" in page
    assert listed_numbers(html(client.get("/admin/roster/check?show=add"))) == ["R001"]


def test_the_check_pages_belong_to_the_session_that_uploaded(app, client, union, login_as):
    login_as(Role.officer, union.branch_a)
    response = client.get("/admin/roster/check")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/roster/")
    upload(client, HEADER + "张三,R001,,甲一组,,\n")
    other = app.test_client()
    login_as(Role.officer, union.branch_a, on=other)
    assert other.get("/admin/roster/check?show=add").status_code == 302


def test_a_confirmed_import_is_a_job_whose_page_shows_a_progress_bar_until_it_is_done(
    app, client, union, login_as, monkeypatch
):
    sent: list[int] = []
    monkeypatch.setattr(background, "_enqueue", sent.append)  # a worker will take it: not yet
    login_as(Role.officer, union.branch_a)
    page = html(upload(client, HEADER + "张三,R001,,甲一组,,\n李四,R002,,甲一组,,\n"))
    response = confirm(client, page)
    (import_id,) = sent
    assert response.request.path == f"/admin/roster/imports/{import_id}"
    body = html(response)
    status_url = f"/admin/roster/imports/{import_id}/status"
    assert f'data-import-status="{status_url}"' in body and "<progress>" in body
    assert "/admin/static/admin/roster.js" in body and "排队等候中" in body

    status = client.get(status_url)
    assert status.status_code == 200 and status.mimetype == "application/json"
    assert status.get_json() | {"text": None} == {
        "status": "queued",
        "label": "排队等候",
        "finished": False,
        "total": 0,
        "done": 0,
        "percent": 0,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "errors": 0,
        "text": None,
    }
    with app.app_context():
        assert background.run_import(import_id) == "done"
    state = client.get(status_url).get_json()
    assert (state["finished"], state["total"], state["done"], state["percent"], state["created"]) == (
        True,
        2,
        2,
        100,
        2,
    )
    done = html(client.get(f"/admin/roster/imports/{import_id}"))
    assert "导入结果" in done and "导入完成：新增 2 人" in done and "roster.js" not in done


def test_roster_js_is_loaded_only_by_the_import_page_and_polls_the_status(client, union, login_as):
    login_as(Role.officer, union.branch_a)
    assert "roster.js" not in html(client.get("/admin/roster/")) + html(client.get("/admin/members/"))
    script = (project_root() / "admin/static/admin/roster.js").read_text(encoding="utf-8")
    assert "data-import-status" in script and "progress" in script and "location.reload" in script


def test_someone_elses_import_is_not_there(app, client, union, login_as, monkeypatch):
    monkeypatch.setattr(background, "_enqueue", lambda import_id: None)
    login_as(Role.officer, union.branch_a)
    confirm(client, html(upload(client, HEADER + "张三,R001,,甲一组,,\n")))
    import_id = int(re.search(r"/roster/imports/(\d+)", html(client.get("/admin/roster/"))).group(1))
    other = app.test_client()
    login_as(Role.officer, union.branch_a, on=other)
    assert_html_error(other.get(f"/admin/roster/imports/{import_id}"), 404)
    assert_html_error(other.get(f"/admin/roster/imports/{import_id}/status"), 404)
    admin = app.test_client()
    login_as(Role.admin, union.root, on=admin)
    assert admin.get(f"/admin/roster/imports/{import_id}/status").status_code == 200


def test_the_upload_page_lists_recent_imports(client, union, login_as):
    login_as(Role.officer, union.branch_a)
    confirm(client, html(upload(client, HEADER + "张三,R001,,甲一组,,\n", "甲组名册.csv")))
    page = html(client.get("/admin/roster/"))
    assert "最近的导入" in page and "甲组名册.csv" in page and "导入完成" in page


def test_the_upload_page_and_the_readme_name_the_required_columns_alike(client, union, login_as):
    required = "、".join(reading.REQUIRED.values())
    assert required == "姓名、工号、所属组织"
    login_as(Role.officer, union.branch_a)
    assert f"{required}为必填" in html(client.get("/admin/roster/"))
    readme = (project_root() / "README.md").read_text(encoding="utf-8")
    assert f"其中{required}必填" in readme
