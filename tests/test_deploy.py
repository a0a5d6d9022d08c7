"""What stands in front: deploy/nginx/union.conf passes `nginx -t` and, run for real in front of a
recording upstream, buffers slow clients, refuses bodies over MAX_CONTENT_LENGTH, sends HSTS and keeps
the callback's signature out of its log; gunicorn's access log keeps it out too; the systemd units run
what the Makefile runs.
"""

from __future__ import annotations

import configparser
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from backend.config import load_settings

ROOT = Path(__file__).resolve().parent.parent
NGINX_SITE = ROOT / "deploy" / "nginx" / "union.conf"
CHECK_SCRIPT = ROOT / "deploy" / "nginx" / "check-config.sh"
UNITS = ROOT / "deploy" / "systemd"
SECRET_QUERY = "signature=SIGNATURE123&timestamp=1700000000&nonce=NONCE456"


def _nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


NGINX = _nginx()
requires_nginx = pytest.mark.skipif(
    NGINX is None or shutil.which("openssl") is None,
    reason="needs nginx and openssl (Debian: apt-get install nginx; .ci/run installs it)",
)


@requires_nginx
def test_the_nginx_site_passes_nginx_t():
    result = subprocess.run(
        ["bash", str(CHECK_SCRIPT)], env={**os.environ, "NGINX": str(NGINX)}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test is successful" in result.stderr


def test_the_nginx_body_limit_is_max_content_length(monkeypatch):
    monkeypatch.delenv("MAX_CONTENT_LENGTH", raising=False)
    (size,) = re.findall(r"^\s*client_max_body_size\s+(\d+)m;", NGINX_SITE.read_text(), re.MULTILINE)
    settings = load_settings({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert int(size) * 1024 * 1024 == settings["MAX_CONTENT_LENGTH"]


class Recorder(BaseHTTPRequestHandler):
    """The upstream in place of gunicorn: remembers each request it got, with its body."""

    protocol_version = "HTTP/1.1"
    seen: list[dict[str, Any]] = []

    def _answer(self) -> None:
        # Recorded as soon as the head arrives: a request passed on before its body shows at once.
        request: dict[str, Any] = {"path": self.path, "headers": dict(self.headers), "body": None}
        Recorder.seen.append(request)
        length = int(self.headers.get("Content-Length") or 0)
        request["body"] = self.rfile.read(length) if length else b""
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def nginx_in_front() -> Iterator[tuple[int, int, Path]]:
    """nginx with union.conf (paths and ports moved by check-config.sh) in front of a Recorder."""
    Recorder.seen = []
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    # Not pytest's tmp_path: nginx's workers may run as another user, and must reach their temp dir.
    work = Path(tempfile.mkdtemp(prefix="union-nginx-"))
    work.chmod(0o755)
    prepared = subprocess.run(
        ["bash", str(CHECK_SCRIPT), "--prepare", str(work), str(upstream.server_address[1])],
        capture_output=True,
        text=True,
        check=True,
    )
    http_port, https_port = map(int, prepared.stdout.split())
    command = [
        str(NGINX),
        "-p",
        str(work),
        "-e",
        str(work / "log" / "error.log"),
        "-c",
        str(work / "nginx.conf"),
    ]
    server = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail("nginx did not start: " + server.stderr.read().decode(errors="replace"))
                time.sleep(0.05)
        yield http_port, https_port, work
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stderr.close()
        upstream.shutdown()
        upstream.server_close()
        shutil.rmtree(work, ignore_errors=True)


def _tls() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the harness's throwaway self-signed certificate
    return context


def _plain_get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _tls_socket(port: int) -> ssl.SSLSocket:
    return _tls().wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))


def _get(port: int, path: str, **kwargs: Any) -> http.client.HTTPResponse:
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=_tls(), timeout=10)
    connection.request("GET", path, **kwargs)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


@requires_nginx
def test_nginx_in_front_buffers_refuses_too_big_and_keeps_the_signature_out_of_its_log(nginx_in_front):
    http_port, https_port, work = nginx_in_front

    # Plain HTTP goes to HTTPS; HTTPS answers carry HSTS.
    plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
    plain.request("GET", "/admin/")
    redirect = plain.getresponse()
    assert redirect.status == 301 and redirect.getheader("Location").startswith("https://")
    plain.close()
    response = _get(https_port, "/wechat/callback?" + SECRET_QUERY)
    assert response.status == 200 and response.getheader("Strict-Transport-Security").startswith("max-age=")
    assert Recorder.seen[-1]["path"] == "/wechat/callback?" + SECRET_QUERY  # the app still gets it
    forwarded = Recorder.seen[-1]["headers"]
    assert forwarded["X-Forwarded-For"].split(",")[-1].strip() == "127.0.0.1"
    assert forwarded["X-Forwarded-Proto"] == "https"
    assert _get(https_port, "/admin/members/?q=zhang").status == 200

    # A slow client: nothing reaches the upstream until the whole body is in.
    with _tls_socket(https_port) as client:
        before = len(Recorder.seen)
        client.sendall(
            b"POST /api/v1/uploads HTTP/1.1\r\nHost: union.test\r\nContent-Length: 10\r\n\r\n12345"
        )
        time.sleep(0.5)
        assert len(Recorder.seen) == before, "nginx passed on a request whose body had not arrived"
        client.sendall(b"67890")
        assert client.recv(4096).startswith(b"HTTP/1.1 200")
    assert Recorder.seen[-1]["body"] == b"1234567890"

    # A body over MAX_CONTENT_LENGTH is refused by nginx itself.
    with _tls_socket(https_port) as client:
        before = len(Recorder.seen)
        length = 12 * 1024 * 1024 + 1
        head = f"POST /api/v1/uploads HTTP/1.1\r\nHost: union.test\r\nContent-Length: {length}\r\n\r\n"
        client.sendall(head.encode())
        assert client.recv(4096).startswith(b"HTTP/1.1 413")
        assert len(Recorder.seen) == before

    log = (work / "log" / "union.access.log").read_text()
    callback_lines = [line for line in log.splitlines() if "/wechat/callback" in line]
    assert callback_lines and all('"GET /wechat/callback HTTP/1.1"' in line for line in callback_lines)
    assert "SIGNATURE123" not in log and "NONCE456" not in log
    assert "/admin/members/?q=zhang" in log  # other requests are logged as they came


@pytest.mark.slow
def test_gunicorn_logs_the_callback_without_its_query(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "SECRET_KEY": "k" * 32,
        "DATA_KEY": "d" * 32,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'union.db'}",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
    }
    for name in ("REDIS_URL", "WECHAT_TOKEN", "TRUSTED_PROXIES"):
        env.pop(name, None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(150):
            try:
                _plain_get(port, "/healthz?probe=1")
                break
            except OSError:
                if server.poll() is not None:
                    break
                time.sleep(0.1)
        _plain_get(port, "/wechat/callback?" + SECRET_QUERY)
    finally:
        server.terminate()
        out, err = server.communicate(timeout=20)
    log = out.decode(errors="replace") + err.decode(errors="replace")
    assert '"GET /wechat/callback HTTP/1.1"' in log, log[-2000:]
    assert "SIGNATURE123" not in log and "NONCE456" not in log
    assert '"GET /healthz?probe=1 HTTP/1.1"' in log  # other requests keep their query


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read(UNITS / name)
    return parser


def test_the_systemd_units_run_what_the_makefile_runs():
    makefile = (ROOT / "Makefile").read_text()
    expected = {
        "union-web.service": "gunicorn -c gunicorn.conf.py wsgi:app",
        "union-worker.service": "celery -A wsgi:celery worker",
        "union-beat.service": "celery -A wsgi:celery beat",
    }
    for name, command in expected.items():
        service = _unit(name)["Service"]
        assert command in service["ExecStart"], name
        assert service["EnvironmentFile"] == "/etc/union/union.env", name
        assert service["WorkingDirectory"] == "/srv/union" and service["User"] == "union", name
    assert "celery -A wsgi:celery worker" in makefile and "celery -A wsgi:celery beat" in makefile


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (Debian: systemd)")
def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    for unit in UNITS.glob("*.service"):
        shutil.copy(unit, tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.glob("*.service"))],
        capture_output=True,
        text=True,
    )
    # The programs live in /srv/union/.venv on the real machine, not here: that is the only complaint
    # allowed (an unknown key or a bad value would show up here too).
    complaints = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and not re.search(r"Command /srv/union/\.venv/bin/\w+ is not executable", line)
    ]
    assert complaints == []
