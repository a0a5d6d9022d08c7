"""What the activities tell members through the ledger (inbox + subscribe message of kind "activity")."""

from __future__ import annotations

from collections.abc import Sequence

from backend.activities.models import Activity, Registration
from backend.db import to_local
from backend.notifications.operations import notify, notify_many

MEMBER_LINK = "/pages/activities/detail?id={id}"


def when(activity: Activity) -> str:
    starts = to_local(activity.starts_at)
    return starts.strftime("%Y-%m-%d %H:%M") if starts else ""


def _data(activity: Activity, note: str) -> dict[str, str]:
    starts = to_local(activity.starts_at)
    return {
        "title": activity.title,
        "starts_at": starts.isoformat() if starts else "",
        "location": activity.location,
        "note": note,
    }


def tell(registration: Registration, *, event: str, title: str, body: str) -> None:
    """One message to the member of `registration`, once per (registration, event)."""
    if registration.member is None:
        return
    activity = registration.activity
    notify(
        registration.member,
        kind="activity",
        title=title,
        body=body,
        link=MEMBER_LINK.format(id=activity.id),
        dedupe_key=f"activity:{activity.id}:{event}:{registration.id}",
        data=_data(activity, body[:20]),
    )


def tell_many(activity: Activity, member_ids: Sequence[int], *, event: str, title: str, body: str) -> int:
    """The same message to many members, once per (activity, event, member)."""
    return notify_many(
        [m for m in member_ids if m is not None],
        kind="activity",
        title=title,
        body=body,
        link=MEMBER_LINK.format(id=activity.id),
        dedupe_prefix=f"activity:{activity.id}:{event}",
        data=_data(activity, body[:20]),
    )


def promoted(registration: Registration) -> None:
    activity = registration.activity
    tell(
        registration,
        event="promoted",
        title=f"候补成功：{activity.title}",
        body=f"有名额空出，您已从候补转为报名成功。活动时间 {when(activity)}，地点 {activity.location}。",
    )
