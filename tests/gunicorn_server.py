"""`wsgi:app` under gunicorn, as in production (gunicorn.conf.py), on the test's database: for the tests
where several worker processes, each with its own connection pool, must meet."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def gunicorn_server(app: Flask, *, workers: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """Sync workers (one thread each), so concurrent requests spread over the processes. `env` adds
    settings (REDIS_URL, WeChat's); without REDIS_URL the workers run without Redis. Yields the base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = {
        **{key: value for key, value in os.environ.items() if key != "REDIS_URL"},
        "APP_ENV": "testing",
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATA_KEY": app.config["DATA_KEY"],
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": "1",
        "GUNICORN_LOGLEVEL": "warning",
        **(env or {}),
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--access-logfile", "/dev/null"]
    server = subprocess.Popen(
        [*command, "wsgi:app"], cwd=ROOT, env=settings, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start: " + server.stderr.read1().decode(errors="replace"))  # type: ignore[union-attr]
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()  # type: ignore[union-attr]
