#!/usr/bin/env bash
# Request latency with the error-mail SMTP server up vs stalled (Benchmarks/README.md, "Error mail: request latency with SMTP up vs stalled"): builds
# microblog-mail-stall in release into .build-bench, starts a real aiosmtpd (Debugging handler, output counted) and a stalled SMTP
# listener (accepts, never answers) on free loopback ports, and runs the benchmark against both.
# Settings (environment): REQUESTS (20000), CONCURRENCY (8), POST_PERCENT (10), ROUNDS (4; rounds alternate which case runs first), SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=.build-bench
PYTHON=${PYTHON:-.venv/bin/python}
[[ -x $PYTHON ]] && "$PYTHON" -c 'import aiosmtpd' 2>/dev/null || {
    echo "aiosmtpd is needed: python3 -m venv .venv && .venv/bin/pip install aiosmtpd" >&2; exit 1; }
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    MICROBLOG_BENCHMARKS=1 swift build -c release --scratch-path "$SCRATCH" --product microblog-mail-stall
fi
BIN=$SCRATCH/release/microblog-mail-stall
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

UP_PORT=$(free_port)
UP_OUT=$(mktemp)
PYTHONUNBUFFERED=1 "$PYTHON" -m aiosmtpd -n -l "127.0.0.1:$UP_PORT" -c aiosmtpd.handlers.Debugging stdout >"$UP_OUT" 2>&1 &
UP_PID=$!
STALL_OUT=$(mktemp)
python3 Benchmarks/Tools/stall_smtp.py >"$STALL_OUT" &
STALL_PID=$!
cleanup() { kill "$UP_PID" "$STALL_PID" 2>/dev/null || true; rm -f "$STALL_OUT" "$UP_OUT"; }
trap cleanup EXIT
for _ in $(seq 50); do [[ -s $STALL_OUT ]] && break; sleep 0.1; done
STALL_PORT=$(head -1 "$STALL_OUT")
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$UP_PORT") 2>/dev/null && break; sleep 0.1; done

"$BIN" --up-port "$UP_PORT" --stalled-port "$STALL_PORT" --requests "${REQUESTS:-20000}" \
    --concurrency "${CONCURRENCY:-8}" --post-percent "${POST_PERCENT:-10}" --rounds "${ROUNDS:-4}"
sleep 0.5
echo "aiosmtpd (up) received $(grep -c '^Subject: Microblog Failure' "$UP_OUT" || true) 'Microblog Failure' mails;" \
    "the stalled listener accepted $(grep -c '^accepted' "$STALL_OUT" || true) connections and answered none"
