"""Celery: configuration and tasks. Tasks are thin wrappers that call operations.

With REDIS_URL set, tasks go to Redis and any number of `celery worker` processes run them. Without
it (the embedded default) tasks run eagerly in the web process, after the commit that queued them.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask, has_app_context

from backend.activities.schedule import remind_due, run_due_draws
from backend.announcements.operations import publish_due
from backend.db import unit_of_work
from backend.extensions import celery as _celery
from backend.hardship.files import remind_reviews_due
from backend.hardship.retention import purge_expired_applications
from backend.hardship.review import end_publicity_due
from backend.hardship.standards import today
from backend.maintenance import purge_expired as purge
from backend.members.roster.background import resume_stalled, run_import, set_import_enqueuer
from backend.notifications.delivery import drain, set_drain_enqueuer, sweep


def configure_celery(celery: Celery, app: Flask) -> None:
    redis_url = app.config.get("REDIS_URL")
    celery.conf.update(
        broker_url=redis_url or "memory://",
        result_backend=None,
        task_ignore_result=True,
        task_always_eager=not redis_url,
        task_eager_propagates=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        timezone="Asia/Shanghai",
        task_default_queue=app.config.get("CELERY_QUEUE") or "celery",
        beat_schedule={
            "notifications-sweep": {
                "task": "notifications.sweep",
                "schedule": float(app.config.get("NOTIFICATIONS_SWEEP_SECONDS") or 30),
            },
            "announcements-publish-due": {"task": "announcements.publish_due", "schedule": 60.0},
            "roster-imports-resume": {"task": "roster.resume_stalled", "schedule": 60.0},
            "activities-draw": {"task": "activities.draw_due", "schedule": 60.0},
            "activities-remind": {"task": "activities.remind_due", "schedule": 300.0},
            "hardship-end-publicity": {"task": "hardship.end_publicity", "schedule": 300.0},
            "hardship-review-reminders": {
                "task": "hardship.review_reminders",
                "schedule": crontab(hour=9, minute=0),
            },
            "care-birthday-greetings": {
                "task": "care.birthday_greetings",
                "schedule": crontab(hour=8, minute=0),
            },
            "maintenance-purge-expired": {
                "task": "maintenance.purge_expired",
                "schedule": crontab(hour=3, minute=30),
            },
            "hardship-purge-expired": {
                "task": "hardship.purge_expired",
                "schedule": crontab(hour=3, minute=45),
            },
        },
    )

    class AppTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            # Run eagerly (no Redis), a task runs inside the caller's app context: that is the app whose
            # commit queued it, even when a process has built several apps (tests, scripts).
            if has_app_context():
                return self.run(*args, **kwargs)
            with app.app_context():
                return self.run(*args, **kwargs)

    celery.Task = AppTask  # type: ignore[misc]
    app.extensions["celery"] = celery


# --- notifications (backend/notifications/delivery.py) --------------------------------------------


@_celery.task(name="notifications.drain")
def drain_notifications() -> dict[str, int]:
    """Deliver due notifications until none are left; many of these run side by side safely."""
    return asdict(drain())


def _enqueue_drain(**options: Any) -> None:
    # The task is touched only when called: evaluating it at import would build it before configure_celery
    # has installed the app-context base class.
    drain_notifications.apply_async(**options)


set_drain_enqueuer(_enqueue_drain)


@_celery.task(name="notifications.sweep")
def sweep_notifications() -> dict[str, int]:
    """Every NOTIFICATIONS_SWEEP_SECONDS (celery beat): recover lost sends, enqueue what is due."""
    return sweep()


# --- announcements (backend/announcements/operations.py) ------------------------------------------


@_celery.task(name="announcements.publish_due")
def publish_due_announcements() -> int:
    """Every minute (celery beat): publish scheduled announcements whose time has come, one batch."""
    with unit_of_work():
        return len(publish_due())


# --- roster imports (backend/members/roster/background.py) ----------------------------------------


@_celery.task(name="roster.import")
def run_roster_import(import_id: int) -> str:
    """One confirmed roster import, chunk by chunk, each chunk its own commit (resumes where it stopped)."""
    return run_import(import_id)


set_import_enqueuer(lambda import_id: run_roster_import.apply_async(args=[import_id]))


@_celery.task(name="roster.resume_stalled")
def resume_stalled_imports() -> int:
    """Every minute (celery beat): send again the imports that no worker is running."""
    return resume_stalled()


# --- care (backend/care/greetings.py) ----------------------------------------------------------------


@_celery.task(name="care.birthday_greetings")
def birthday_greetings() -> int:
    """Every day at 08:00 (celery beat): the union's greeting to today's birthdays, once a year each."""
    from backend.care.greetings import send_birthday_greetings

    with unit_of_work():
        return send_birthday_greetings()


# --- maintenance (backend/maintenance.py) ----------------------------------------------------------


@_celery.task(name="maintenance.purge_expired")
def purge_expired() -> dict[str, int]:
    """Every day at 03:30 (celery beat): delete what is kept only for a while."""
    return purge()


# --- activities (backend/activities/schedule.py) ---------------------------------------------------


@_celery.task(name="activities.draw_due")
def draw_activity_lotteries() -> int:
    """Every minute (celery beat): draw the lotteries whose registration has closed (each exactly once)."""
    return run_due_draws(unit_of_work)


@_celery.task(name="activities.remind_due")
def remind_activities() -> int:
    """Every 5 minutes (celery beat): remind registered members before the start, once each."""
    with unit_of_work():
        return remind_due()


# --- hardship aid (backend/hardship/review.py, files.py) ------------------------------------------


@_celery.task(name="hardship.end_publicity")
def end_hardship_publicity() -> int:
    """Every five minutes (celery beat): a 公示 whose window has passed now waits for the final decision."""
    with unit_of_work():
        return len(end_publicity_due())


@_celery.task(name="hardship.review_reminders")
def remind_hardship_reviews() -> int:
    """Every day at 09:00 (celery beat): a month before a household file's yearly review, the member is
    asked to update their information (once per due date: the dedupe key)."""
    with unit_of_work():
        return remind_reviews_due(today())


@_celery.task(name="hardship.purge_expired")
def purge_expired_hardship() -> int:
    """Every day at 03:45 (celery beat): decided applications past the retention period are deleted,
    with their attachments (backend/hardship/retention.py), a batch per commit."""
    purged = 0
    while True:
        with unit_of_work():
            batch = purge_expired_applications()
        purged += batch
        if batch == 0:
            return purged
