"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app`. Every value can be set from the environment."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", str(min(2 * multiprocessing.cpu_count() + 1, 9))))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# WeChat calls time out within 5 s; anything slower than this is stuck.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Restart workers now and then so slow leaks cannot accumulate.
max_requests = 2000
max_requests_jitter = 200
# Behind a reverse proxy that sets X-Forwarded-For (audit rows record the client's address).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# No preload: each worker opens its own database pool after the fork.
preload_app = False
