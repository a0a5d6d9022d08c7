"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app`. Every value can be set from the environment."""

import multiprocessing
import os
from typing import Any

from gunicorn.glogging import Logger

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", str(min(2 * multiprocessing.cpu_count() + 1, 9))))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# WeChat calls time out within 5 s; anything slower than this is stuck. With threads (gthread, the
# default here) this is the worker's heartbeat, not a limit on one request: a roster import that takes
# minutes runs to its end (nginx allows it 600 s, deploy/nginx/union.conf). With GUNICORN_THREADS=1
# (sync workers) it would also kill such a request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Restart workers now and then so slow leaks cannot accumulate; not often: a new worker spends seconds
# of CPU loading the app, and one restarting during a 10:00 sign-up rush slows every sign-up behind the
# activity's lock (bench/README.md measured it at 2,000). 0 turns restarts off.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = max_requests // 10
# Behind a reverse proxy that sets X-Forwarded-For (audit rows record the client's address).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"


class QuietCallbackLogger(Logger):
    """The access log without the query string of WeChat's callback.

    WeChat signs each call to /wechat/callback in its query (signature, timestamp, nonce,
    msg_signature): that has no place in a log file. Other requests are logged as gunicorn always does.
    """

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        if (environ.get("PATH_INFO") or "").startswith("/wechat/callback"):
            atoms["r"] = f"{atoms['m']} {atoms['U']} {atoms['H']}"
            atoms["q"] = ""
            for name in ("raw_uri", "request_uri", "query_string"):
                atoms.pop(f"{{{name}}}e", None)
        return atoms


logger_class = QuietCallbackLogger
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# No preload: each worker opens its own database pool after the fork.
preload_app = False
