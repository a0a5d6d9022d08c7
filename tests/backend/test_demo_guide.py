"""`make run` and the README tell a newcomer enough to sign in and bind a demo member at once (issue 12):
the demo logins (only those), three demo members, and four commands that work as printed."""

from __future__ import annotations

import json
import re
from typing import Any

import requests

from backend.demo import DEMO_MEMBERS, DEMO_STAFF, binding_steps
from backend.staff.models import Role
from tests.conftest import project_root
from tests.factories import make_staff, make_union

CURL = re.compile(
    r"curl -s -X POST (?P<url>\S+) -H 'Content-Type: application/json'"
    r"(?: -H 'Authorization: Bearer (?P<token>[^']+)')? -d '(?P<body>.+)'$"
)
PLACEHOLDER = re.compile(r"<第 (\d) 步答复里的 (\w+)>")
SITE = "http://localhost"


def seed_demo(app, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["seed-demo", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_guide_lists_the_demo_logins_and_nothing_else(app):
    output = seed_demo(app)
    for username, _ in DEMO_STAFF:
        assert re.search(rf"^  {username} ", output, re.M), username
    union = make_union(app)
    make_staff(app, Role.admin, union.root, username="real-boss")
    again = seed_demo(app)
    assert "未重复载入" in again and "real-boss" not in again and "  admin " in again


def test_the_guide_names_three_members_and_binds_one_as_printed(app, client, emulator, emu):
    assert emu  # the emulator starts and ends this test empty
    output = seed_demo(app, "--site-url", SITE, "--emulator-url", emulator.base_url)
    for member in DEMO_MEMBERS:
        assert f"{member.name}  工号 {member.employee_no}" in output
    steps = [line.split(". ", 1)[1] for line in output.splitlines() if re.match(r"^  \d\. curl ", line)]
    assert len(steps) == 4
    answers: dict[int, dict[str, Any]] = {}

    def fill(text: str) -> str:
        return PLACEHOLDER.sub(lambda m: str(answers[int(m.group(1))][m.group(2)]), text)

    for number, step in enumerate(steps, start=1):
        command = CURL.match(step)
        assert command, step
        url, body = command["url"], json.loads(fill(command["body"]))
        if url.startswith(SITE):
            headers = {"Authorization": f"Bearer {fill(command['token'])}"} if command["token"] else {}
            response = client.post(url.removeprefix(SITE), json=body, headers=headers)
            assert response.status_code == 200, response.get_json()
            answers[number] = response.get_json()
        else:
            answer = requests.post(url, json=body, timeout=5)
            assert answer.status_code == 200, answer.text
            answers[number] = answer.json()
    me = answers[4]
    assert me["status"] == "active" and me["name"] == DEMO_MEMBERS[0].name
    assert me["employee_no"] == DEMO_MEMBERS[0].employee_no


def test_the_readme_gives_the_same_members_and_commands():
    readme = (project_root() / "README.md").read_text("utf-8")
    section = readme.split("## 两条命令")[1].split("\n## ")[0]
    for member in DEMO_MEMBERS:
        assert f"| {member.name} | {member.employee_no} | {member.phone} | `{member.openid}` |" in section
    for step in binding_steps(
        DEMO_MEMBERS[0], site_url="http://127.0.0.1:5000", emulator_url="http://127.0.0.1:5001"
    ):
        assert step in section, step


def test_make_run_passes_its_ports_to_the_guide():
    makefile = (project_root() / "Makefile").read_text("utf-8")
    assert (
        "flask seed-demo --site-url http://127.0.0.1:$(PORT) --emulator-url http://127.0.0.1:$(EMULATOR_PORT)"
        in makefile
    )
