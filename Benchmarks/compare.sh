#!/usr/bin/env bash
# Servers side by side in one run on this machine: each spec starts a release server on a fresh database, the
# signed-in profile page (4 posts) is measured on each in turn with wrk -t1 for ROUNDS rounds, so the machine's
# drift falls on all alike. Prints each server's median req/s, p99 (last round), its CPU time per request (utime +
# stime from /proc over the requests it served; the server process only, not PostgreSQL's) and its ratio to the
# first spec.
#   usage: Benchmarks/compare.sh LABEL=PATH/TO/release/microblog[:postgres] ...
#   e.g.:  Benchmarks/compare.sh sqlite=.build/release/microblog postgres=.build/release/microblog:postgres
#   env:   ROUNDS=3 DUR=6s CONNS=16 POSTS=4 PAGE=/user/compare4 (any page of the seeded user's session)
#          SIGNED_OUT=1: no cookie is sent (e.g. PAGE=/login); POST=1: POST /index with a new post each request
#          (the form's CSRF token read from the page first; a 302 is its success)
#          CEILING=1: the bare stack's server (../shared/ceiling, built once into /tmp/ceiling-build) joins every
#          round with its /me, /page and /plain, so the pages' ratios to it come from the same run
# A spec ending in :postgres serves from a throwaway local PostgreSQL cluster (Tests/scripts/postgres-cluster.sh) on
# the same cores, one database per spec.
set -euo pipefail
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-6s}; CONNS=${CONNS:-16}; POSTS=${POSTS:-4}; PAGE=${PAGE:-/user/compare$POSTS}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SEED=$ROOT/../shared/ceiling/seed.py
[ "$#" -ge 1 ] || { sed -n 2,10p "$0"; exit 2; }
[ -f "$SEED" ] || { echo "needs $SEED (the ceiling's seed script)"; exit 1; }
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
source "$ROOT/Tests/scripts/postgres-cluster.sh"
WORK=$(mktemp -d /tmp/compare.XXXX)
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; stop_postgres_cluster; rm -rf "$WORK"; }
trap cleanup EXIT
fp() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
up() { for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1:"; cat "$WORK"/*/out; exit 1; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # clock ticks
LABELS=(); PORTS=(); COOKIES=(); SERVERS=(); PATHS=()
for spec in "$@"; do
  label=${spec%%=*}; rest=${spec#*=}; bin=${rest%:postgres}
  url="$WORK/$label/app.db"
  if [ "$bin" != "$rest" ]; then
    [ -n "${MICROBLOG_TEST_POSTGRES_URL:-}" ] || start_postgres_cluster >/dev/null
    psql_url=${MICROBLOG_TEST_POSTGRES_URL%/*}
    "$pg_bin/psql" -q "$MICROBLOG_TEST_POSTGRES_URL" -c "CREATE DATABASE \"compare_$label\"" >/dev/null
    url="$psql_url/compare_$label"
  fi
  port=$(fp); mkdir -p "$WORK/$label"
  (cd "$WORK/$label" && exec env HOST=127.0.0.1 PORT="$port" SECRET_KEY=compare-secret-0123456789abcdef-0123456789 BCRYPT_COST=4 \
      DATABASE_URL="$url" LOG_DIR="$WORK/$label/logs" "$(realpath "$bin")" >"$WORK/$label/out" 2>&1) &
  PIDS+=($!); SERVERS+=($!); LABELS+=("$label"); PORTS+=("$port")
done
for i in "${!LABELS[@]}"; do
  up "http://127.0.0.1:${PORTS[$i]}/login"
  COOKIES+=("$(python3 "$SEED" "http://127.0.0.1:${PORTS[$i]}" compare$POSTS "$POSTS")")
done
if [ "${CEILING:-0}" = 1 ]; then
  CEIL=/tmp/ceiling-build
  if [ ! -x $CEIL/.build/release/ceiling ]; then
    rm -rf $CEIL && cp -r "$ROOT/../shared/ceiling" $CEIL && (cd $CEIL && swift build -c release >$CEIL.log 2>&1)
  fi
  port=$(fp)
  $CEIL/.build/release/ceiling serve --host 127.0.0.1 --port "$port" --db "$WORK/ceiling.sqlite" --rows 10000 \
    --log-level warning >"$WORK/ceiling.out" 2>&1 &
  PIDS+=($!)
  up "http://127.0.0.1:$port/plain"
  cookie=$(curl -fs -D - -o /dev/null "http://127.0.0.1:$port/login/user00042" | tr -d '\r' \
    | sed -n 's/^[Ss]et-[Cc]ookie: *\([^;]*\).*/\1/p' | head -1)
  for page in me page plain; do
    LABELS+=("ceiling/$page"); PORTS+=("$port"); SERVERS+=($!); COOKIES+=("$cookie"); PATHS[$(( ${#LABELS[@]} - 1 ))]=/$page
  done
fi
for _ in $(seq "$ROUNDS"); do
  for i in "${!LABELS[@]}"; do
    pid=$(pgrep -P "${SERVERS[$i]}" || echo "${SERVERS[$i]}")
    before=$(cpu "$pid")
    url="http://127.0.0.1:${PORTS[$i]}${PATHS[$i]:-$PAGE}"
    args=(-H "Cookie: ${COOKIES[$i]}")
    [ "${SIGNED_OUT:-0}" = 1 ] && [ -z "${PATHS[$i]:-}" ] && args=()
    if [ "${POST:-0}" = 1 ] && [ -z "${PATHS[$i]:-}" ]; then
      url="http://127.0.0.1:${PORTS[$i]}/index"
      token=$(curl -s -H "Cookie: ${COOKIES[$i]}" "$url" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
      printf 'wrk.method = "POST"\nwrk.body = "csrf_token=%s&post=A+post+from+wrk."\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\nwrk.headers["Origin"] = "http://127.0.0.1:%s"\n' \
        "$token" "${PORTS[$i]}" >"$WORK/post.lua"
      args+=(-s "$WORK/post.lua")
    fi
    out=$(wrk -t1 -c"$CONNS" -d"$DUR" --latency "${args[@]}" "$url" 2>/dev/null)
    after=$(cpu "$pid")
    requests=$(echo "$out" | awk '/requests in/{print $1}')
    echo "${LABELS[$i]} $(echo "$out" | awk '/Requests\/sec/{print $2}') $(echo "$out" | awk '$1=="99%"{print $2}') \
$(( (after - before) * 1000000 / $(getconf CLK_TCK) )) $requests $(echo "$out" | awk '/Non-2xx/{print $NF}')" >>"$WORK/results"
  done
done
title="GET $PAGE (the user has $POSTS posts)"
[ "${POST:-0}" = 1 ] && title="POST /index (a new post each)"
[ "${SIGNED_OUT:-0}" = 1 ] && title="GET $PAGE, signed out"
python3 - "$WORK/results" "$CONNS" "$title" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    p = line.split()
    rows.setdefault(p[0], []).append((float(p[1]), p[2], int(p[3]) / max(1, int(p[4])), int(p[5]) if len(p) > 5 else 0))
med = {k: statistics.median(r for r, *_ in v) for k, v in rows.items()}
first = next(iter(med.values()))
page = med.get("ceiling/page")
print(f"{sys.argv[3]}, wrk -t1 -c{sys.argv[2]}, medians of the rounds (p99 of the last)")
print(f"{'':24s} {'req/s':>8s} {'p99':>9s} {'CPU/req':>9s} {'non-2xx':>8s} {'ratio':>6s}" + (f" {'/page':>6s}" if page else ""))
for k, v in rows.items():
    cpu = statistics.median(c for _, _, c, _ in v)
    print(f"{k:24s} {med[k]:8.0f} {v[-1][1]:>9s} {cpu:6.0f} µs {sum(n for *_, n in v):8d} {med[k] / first:6.2f}"
          + (f" {med[k] / page:6.2f}" if page else ""))
PY
