"""Every action the code writes has a Chinese label (issue 12: no raw action codes in the log)."""

from __future__ import annotations

import ast

from backend.audit.labels import ACTION_LABELS, DETAIL_LABELS
from backend.audit.names import GROUP_KEYS, STAFF_KEYS
from backend.hardship.workflow import STAFF_ACTIONS as HARDSHIP_STAFF_ACTIONS
from backend.members.models import JoinRequestStatus
from tests.conftest import project_root

# Actions built at run time, by the source text of their first argument, and what they can become.
DYNAMIC_ACTIONS = {
    'f"join_request.{status.value}"': {
        f"join_request.{status.value}" for status in (JoinRequestStatus.approved, JoinRequestStatus.rejected)
    },
    'f"hardship.{action.value}"': {f"hardship.{action.value}" for action in HARDSHIP_STAFF_ACTIONS},
}


def recorded_actions() -> set[str]:
    """The first argument of every `record(...)` call in the code, read with the parser (not a pattern)."""
    actions: set[str] = set()
    unknown: list[str] = []
    for folder in ("backend", "admin", "miniprogram_api"):
        for path in (project_root() / folder).rglob("*.py"):
            source = path.read_text("utf-8")
            for node in ast.walk(ast.parse(source)):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                name = (
                    func.id
                    if isinstance(func, ast.Name)
                    else func.attr
                    if isinstance(func, ast.Attribute)
                    else ""
                )
                if name != "record":
                    continue
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    actions.add(first.value)
                elif (text := ast.get_source_segment(source, first)) in DYNAMIC_ACTIONS:
                    actions |= DYNAMIC_ACTIONS[text]
                else:
                    unknown.append(f"{path.relative_to(project_root())}:{node.lineno}: {text}")
    assert not unknown, f"record() with an action this test cannot read; add it to DYNAMIC_ACTIONS: {unknown}"
    return actions


def test_every_recorded_action_has_a_label():
    actions = recorded_actions()
    assert len(actions) > 20  # the parser found the calls
    assert actions <= ACTION_LABELS.keys(), sorted(actions - ACTION_LABELS.keys())
    assert all(ACTION_LABELS[action] and not ACTION_LABELS[action].isascii() for action in actions)


def test_id_details_have_labels_without_numbers():
    for key in GROUP_KEYS | STAFF_KEYS:
        assert "编号" not in DETAIL_LABELS[key], key
