#!/usr/bin/env bash
# Fail, saying what to start, unless PostgreSQL (the test database URL) and Redis answer.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

database_url="${1:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/comptoir}}"
redis_url="${2:-${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}}"
failed=""

if ! reason="$("$VENV/bin/python" - "$database_url" 2>&1 <<'PY'
import sys

import dj_database_url
import psycopg

db = dj_database_url.parse(sys.argv[1])
try:
    psycopg.connect(
        host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"] or None,
        password=db["PASSWORD"] or None, dbname="postgres", connect_timeout=5,
    ).close()
except psycopg.Error as exc:
    sys.exit(str(exc).strip())
PY
)"; then
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
    error "PostgreSQL does not answer at ${database_url##*@}:"$'\n'"  $reason"
    printf '  Start it:  pg_ctlcluster --skip-systemctl-redirect %s main start   (or: service postgresql start)\n' "${version:-15}" >&2
    failed=1
fi

if ! reason="$("$VENV/bin/python" - "$redis_url" 2>&1 <<'PY'
import sys

import redis

try:
    redis.Redis.from_url(sys.argv[1], socket_connect_timeout=5).ping()
except redis.RedisError as exc:
    sys.exit(str(exc).strip())
PY
)"; then
    error "Redis does not answer at $redis_url:"$'\n'"  $reason"
    printf '  Start it:  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no   (or: service redis-server start)\n' >&2
    failed=1
fi

[[ -z "$failed" ]] || exit 1
say "PostgreSQL and Redis answer"
