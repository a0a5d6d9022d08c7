"""The transition table (no database)."""

from __future__ import annotations

from backend.announcements.models import AnnouncementStatus as S
from backend.announcements.workflow import Action, allowed, available_actions


def test_only_drafts_and_scheduled_can_be_edited_or_published():
    for status in S:
        expected = status in (S.draft, S.scheduled)
        assert allowed(Action.edit, status) is expected
        assert allowed(Action.publish, status) is expected


def test_withdraw_and_remind_only_when_published():
    assert available_actions(S.published) == [Action.withdraw, Action.remind]
    assert available_actions(S.withdrawn) == []
