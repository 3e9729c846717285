#!/usr/bin/env bash
# Run the test suite against one real Prefect server on loopback, stopped on exit.
#   bash tests/run.sh [pytest args...]    (after: python3 -m venv .venv && .venv/bin/pip install -e '.[test,spark]')
# 1. Debian's `chromium` (report test) and `default-jre-headless` (Spark tests), when missing and root.
# 2. `prefect server start` on 127.0.0.1 (SQLite in a temporary PREFECT_HOME, analytics off, no
#    scheduler so that prefect.yaml's cron schedules never start runs of their own during tests).
# 3. pytest, told where the server is by PATCHTRAIL_TEST_PREFECT_API_URL, on PATCHTRAIL_TEST_WORKERS
#    pytest-xdist workers (default 2, one per core; 0 runs in this process); its exit code is ours.
#    `--dist loadfile`: each test file runs whole on one worker, so its module fixtures (a
#    warehouse, a deployment on the Prefect server) are built once and never raced by the other
#    worker. (`--dist loadgroup` with xdist_group marks grouped nothing under pytest 9: xdist 3.8
#    renames `item._nodeid`, which pytest 9 no longer reads, so two workers deployed at once.)
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need, installed when missing and root: chromium (the report test) and
# a Java runtime (Spark local mode, tests/spark). One `apt-get update` for both.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v java >/dev/null || [ -n "${JAVA_HOME:-}" ] || missing+=(default-jre-headless)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "tests/run.sh: installing Debian ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "tests/run.sh: missing ${missing[*]} (apt-get install them as root);" \
             "the report and Spark tests will fail" >&2
    fi
fi

home=$(mktemp -d)
port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
api="http://127.0.0.1:$port/api"
server=""
stop_server() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill "$server" 2>/dev/null || true
        for _ in $(seq 20); do kill -0 "$server" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$home"
}
trap stop_server EXIT

PREFECT_HOME="$home" PREFECT_SERVER_ANALYTICS_ENABLED=false \
    PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED=false \
    .venv/bin/prefect server start --host 127.0.0.1 --port "$port" >"$home/server.log" 2>&1 &
server=$!
deadline=$((SECONDS + 180))
until .venv/bin/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "$api/health" 2>/dev/null; do
    if ! kill -0 "$server" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
        echo "tests/run.sh: the Prefect server did not answer at $api/health within 180 s:" >&2
        tail -n 40 "$home/server.log" >&2
        exit 1
    fi
    sleep 1
done
echo "tests/run.sh: Prefect server ready at $api (pid $server)" >&2

export PATCHTRAIL_TEST_PREFECT_API_URL="$api"
status=0
.venv/bin/python -m pytest -n "${PATCHTRAIL_TEST_WORKERS:-2}" --dist loadfile "$@" || status=$?
exit "$status"
