"""Celery: configuration and tasks. Tasks are thin wrappers that call operations.

With REDIS_URL set, tasks go to Redis and any number of `celery worker` processes run them. Without
it (the embedded default) tasks run eagerly in the web process, after the commit that queued them.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask


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
    )

    class AppTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery.Task = AppTask  # type: ignore[misc]
    app.extensions["celery"] = celery
