"""Which status an announcement may move to, as data (pure; tested without a database)."""

from __future__ import annotations

import enum

from backend.announcements.models import AnnouncementStatus as S


class Action(enum.StrEnum):
    edit = "edit"
    schedule = "schedule"
    unschedule = "unschedule"
    publish = "publish"
    withdraw = "withdraw"
    remind = "remind"
    delete = "delete"


# action → the statuses it may start from. Publishing a published announcement is a no-op, not a move.
ALLOWED_FROM: dict[Action, frozenset[S]] = {
    Action.edit: frozenset({S.draft, S.scheduled}),
    Action.schedule: frozenset({S.draft, S.scheduled}),
    Action.unschedule: frozenset({S.scheduled}),
    Action.publish: frozenset({S.draft, S.scheduled}),
    Action.withdraw: frozenset({S.published}),
    Action.remind: frozenset({S.published}),
    # Only a draft: no member has seen it. A scheduled one is taken back to draft first (取消定时), so
    # nobody deletes what is about to go out without meaning to; a published one is withdrawn instead.
    Action.delete: frozenset({S.draft}),
}

REFUSALS: dict[Action, str] = {
    Action.edit: "公告已发布或已撤回，不能再修改",
    Action.schedule: "公告已发布或已撤回，不能再设置定时发布",
    Action.unschedule: "公告未设置定时发布",
    Action.publish: "已撤回的公告不能再次发布",
    Action.withdraw: "只有已发布的公告可以撤回",
    Action.remind: "只有已发布的公告可以提醒未读",
    Action.delete: "只有草稿可以删除：定时发布的公告请先取消定时，已发布的公告请撤回",
}


def allowed(action: Action, status: S) -> bool:
    return status in ALLOWED_FROM[action]


def available_actions(status: S) -> list[Action]:
    return [action for action in Action if allowed(action, status)]
