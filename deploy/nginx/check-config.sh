#!/usr/bin/env bash
# `nginx -t` for deploy/nginx/union.conf, included from a minimal nginx.conf in a temporary directory.
#
# Only paths and ports change: the certificate becomes a throwaway self-signed pair, the logs and temp
# files go to the directory, and `listen` uses free ports on 127.0.0.1 (nginx -t binds them; 80 and 443
# need root and may be taken). So the check needs no root and touches nothing in /etc or /var/log.
#
#   check-config.sh                         run nginx -t on it
#   check-config.sh --prepare DIR [PORT]    only write DIR/nginx.conf (upstream moved to 127.0.0.1:PORT
#                                           when given) and print "HTTP_PORT HTTPS_PORT" (tests/test_deploy.py)
#
# NGINX=/path/to/nginx chooses the binary (default: nginx on PATH, else /usr/sbin/nginx).
set -euo pipefail

site="$(cd "$(dirname "$0")" && pwd)/union.conf"
nginx_bin="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"

prepare() {
  local work="$1" upstream_port="${2:-8000}" http_port https_port
  mkdir -p "$work/tls" "$work/log" "$work/temp"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=union.test" \
    -keyout "$work/tls/union.key" -out "$work/tls/union.crt" >/dev/null 2>&1
  read -r http_port https_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
  sed -e "s#/etc/nginx/tls/#$work/tls/#g" -e "s#/var/log/nginx/#$work/log/#g" \
    -e "/listen \[::\]:/d" -e "s#listen 80;#listen 127.0.0.1:$http_port;#" \
    -e "s#listen 443 ssl;#listen 127.0.0.1:$https_port ssl;#" \
    -e "s#server 127.0.0.1:8000;#server 127.0.0.1:$upstream_port;#" "$site" >"$work/union.conf"
  if grep -Eq "listen (80|443|\[)|/etc/nginx/tls/|/var/log/nginx/" "$work/union.conf"; then
    echo "check-config.sh: union.conf changed its listen lines or paths; update this script" >&2
    exit 1
  fi
  cat >"$work/nginx.conf" <<CONF
pid $work/nginx.pid;
error_log $work/log/error.log;
events {}
http {
    client_body_temp_path $work/temp/body;
    proxy_temp_path $work/temp/proxy;
    fastcgi_temp_path $work/temp/fastcgi;
    uwsgi_temp_path $work/temp/uwsgi;
    scgi_temp_path $work/temp/scgi;
    include $work/union.conf;
}
CONF
  echo "$http_port $https_port"
}

if [ "${1:-}" = "--prepare" ]; then
  prepare "$2" "${3:-}"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
prepare "$work" >/dev/null
"$nginx_bin" -t -p "$work" -e "$work/log/error.log" -c "$work/nginx.conf"
