"""The hardship workflow as data: each action, the statuses it may start from, where it leads, who may
take it, and the conditions beyond the status (the 公示 window, the separation of duties). It is the one
source of truth: `timeline.refusal` reads it, the operations raise what it answers, and the admin's
`queries.may_take` (the buttons a viewer is offered) is `refusal(...) is None`; the tests walk the table.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from backend.hardship.models import Status as S
from backend.staff.permissions import Permission


class Actor(enum.StrEnum):
    applicant = "applicant"  # the member whose application it is
    first_reviewer = "first_reviewer"  # staff with review_hardship whose scope holds the applicant
    publicity_starter = "publicity_starter"  # the first-level approver, or a final approver in scope
    final_approver = "final_approver"  # staff with approve_hardship in scope, not the first approver
    payer = "payer"  # staff with disburse_hardship in scope
    system = "system"  # the periodic job


class Action(enum.StrEnum):
    edit = "edit"
    submit = "submit"
    withdraw = "withdraw"
    return_ = "return"
    first_approve = "first_approve"
    reject = "reject"
    start_publicity = "start_publicity"
    record_objection = "record_objection"
    end_publicity = "end_publicity"
    final_approve = "final_approve"
    final_reject = "final_reject"
    pay = "pay"
    override_tier = "override_tier"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[S]
    target: S | None  # None: the status stays (an edit, an objection; a payment decides by the sum)
    actor: Actor
    label: str
    refusal: str
    after_publicity: bool = False  # only once the 公示 window has ended (the final decision)
    publicity_open: bool = False  # only while the 公示 window is open (objections)
    not_first_approver: bool = False  # separation of duties: not by whoever gave the first approval


TRANSITIONS: dict[Action, Transition] = {
    Action.edit: Transition(
        frozenset({S.draft, S.returned}),
        None,
        Actor.applicant,
        "修改申请",
        "申请已提交，只有草稿或退回补充的申请可以修改",
    ),
    Action.submit: Transition(
        frozenset({S.draft, S.returned}), S.submitted, Actor.applicant, "提交申请", "申请已提交，不能重复提交"
    ),
    Action.withdraw: Transition(
        frozenset({S.draft, S.submitted, S.returned, S.first_approved, S.publicized}),
        S.withdrawn,
        Actor.applicant,
        "撤回申请",
        "申请已有审批结果或已撤回，不能再撤回",
    ),
    Action.return_: Transition(
        frozenset({S.submitted}), S.returned, Actor.first_reviewer, "退回补充材料", "只有待初审的申请可以退回"
    ),
    Action.first_approve: Transition(
        frozenset({S.submitted}),
        S.first_approved,
        Actor.first_reviewer,
        "初审通过",
        "只有待初审的申请可以初审",
    ),
    Action.reject: Transition(
        frozenset({S.submitted}), S.rejected, Actor.first_reviewer, "初审不通过", "只有待初审的申请可以初审"
    ),
    Action.start_publicity: Transition(
        frozenset({S.first_approved}),
        S.publicized,
        Actor.publicity_starter,
        "开始公示",
        "只有初审通过的申请可以公示",
    ),
    Action.record_objection: Transition(
        frozenset({S.publicized}),
        None,
        Actor.first_reviewer,
        "登记异议",
        "只有公示期内的申请可以登记异议",
        publicity_open=True,
    ),
    Action.end_publicity: Transition(
        frozenset({S.publicized}), None, Actor.system, "公示期满", "申请不在公示中"
    ),
    Action.final_approve: Transition(
        frozenset({S.publicized}),
        S.approved,
        Actor.final_approver,
        "终审批准",
        "公示期满后才能终审",
        after_publicity=True,
        not_first_approver=True,
    ),
    Action.final_reject: Transition(
        frozenset({S.publicized}),
        S.rejected,
        Actor.final_approver,
        "终审不通过",
        "公示期满后才能终审",
        after_publicity=True,
        not_first_approver=True,
    ),
    Action.pay: Transition(
        frozenset({S.approved}), None, Actor.payer, "登记发放", "只有已批准、尚未发放完的申请可以登记发放"
    ),
    Action.override_tier: Transition(
        frozenset({S.submitted, S.first_approved, S.publicized}),
        None,
        Actor.first_reviewer,
        "调整困难类型",
        "只有审批中的申请可以调整困难类型",
    ),
}

# Which staff permission each staff actor needs (scope is checked as well, and the separation of duties).
ACTOR_PERMISSIONS: dict[Actor, Permission] = {
    Actor.first_reviewer: Permission.review_hardship,
    Actor.publicity_starter: Permission.review_hardship,
    Actor.final_approver: Permission.approve_hardship,
    Actor.payer: Permission.disburse_hardship,
}

# Actions that decide on the application: nobody takes them on their own application.
DECISIONS = frozenset(
    {
        Action.return_,
        Action.first_approve,
        Action.reject,
        Action.start_publicity,
        Action.final_approve,
        Action.final_reject,
        Action.override_tier,
    }
)

STAFF_ACTIONS = tuple(a for a, t in TRANSITIONS.items() if t.actor not in (Actor.applicant, Actor.system))


def allowed(action: Action, status: S) -> bool:
    return status in TRANSITIONS[action].sources
