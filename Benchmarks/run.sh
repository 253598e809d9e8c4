#!/usr/bin/env bash
# The one benchmark command (Benchmarks/README.md): builds release into .build-bench, starts the server on a fresh
# database and a free loopback port, runs wrk on GET /login, /index and /user/<name> at 16 and 64 connections,
# runs microblog-stress race (rename and register) and load, reads the server's RSS and prints a table.
#
# Everything stays on 127.0.0.1; every step is bounded in time. Settings (environment):
#   BCRYPT_COST      bcrypt cost of the server under test (default 4: the race registers 64 users per round and
#                    the server hashes before it claims; cost 12 would make that phase ~15 minutes on 2 cores.
#                    The GET pages wrk measures never run bcrypt; the micro-benchmarks measure cost 12 itself.)
#   WRK_DURATION     seconds per wrk run (10)       WRK_THREADS  wrk threads (2)
#   WRK_CONNECTIONS  connection counts ("16 64"; "" skips wrk)    SEED_POSTS   posts the wrk user writes first (5)
#   RACE_USERS       claimants per round (64)       RACE_ROUNDS  rounds per kind (100; 0 skips the race)
#   LOAD_RATE        load mode req/s (2000)         LOAD_DURATION seconds (10)   LOAD_USERS (16)
#   SLOW_CLIENTS     slow connections held while wrk measures GET /index again (200; 0 skips)
#   SLOW_DURATION    seconds of that wrk run (30: longer than the server's 15 s head deadline, so slow clients
#                    are cut off and replaced while it runs)
#   SKIP_BUILD=1     use the binaries already in .build-bench/release
#   RESULTS          folder for raw outputs (default .build-bench/bench-results/<timestamp>)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SCRATCH=.build-bench
BCRYPT_COST=${BCRYPT_COST:-4}
WRK_DURATION=${WRK_DURATION:-10}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-"16 64"}
SEED_POSTS=${SEED_POSTS:-5}
RACE_USERS=${RACE_USERS:-64}
RACE_ROUNDS=${RACE_ROUNDS:-100}
LOAD_RATE=${LOAD_RATE:-2000}
LOAD_DURATION=${LOAD_DURATION:-10}
LOAD_USERS=${LOAD_USERS:-16}
SLOW_CLIENTS=${SLOW_CLIENTS:-200}
SLOW_DURATION=${SLOW_DURATION:-30}
RESULTS=${RESULTS:-$SCRATCH/bench-results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)

say() { printf '\n== %s\n' "$*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }
# shellcheck source=Benchmarks/bench-server.sh
source "$ROOT/Benchmarks/bench-server.sh"

# --- tools -------------------------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
    say "installing wrk (Debian package)"
    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
command -v python3 >/dev/null || { echo "python3 is needed to read the results" >&2; exit 1; }

# --- build -------------------------------------------------------------------------------------------------------
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    say "building release into $SCRATCH"
    swift build -c release --scratch-path "$SCRATCH" --product microblog
    swift build -c release --scratch-path "$SCRATCH" --product microblog-stress
fi
SERVER_BIN=$ROOT/$SCRATCH/release/microblog
STRESS_BIN=$ROOT/$SCRATCH/release/microblog-stress
[[ -x $SERVER_BIN && -x $STRESS_BIN ]] || { echo "missing $SERVER_BIN or $STRESS_BIN" >&2; exit 1; }

# --- server on a fresh database ----------------------------------------------------------------------------------
start_server microblog-bench
echo "VmRSS_start $(awk '/VmRSS/ {print $2}' /proc/$SERVER_PID/status) kB" >"$RESULTS/rss.txt"

# --- one logged-in user for wrk ----------------------------------------------------------------------------------
seed_wrk_user "$SEED_POSTS" /user/wrkuser

# --- wrk -----------------------------------------------------------------------------------------------------------
write_wrk_counter
run_wrk() { # label, path, connections, cookie?, duration?
    local label=$1 path=$2 connections=$3 cookie=${4:-} duration=${5:-$WRK_DURATION}
    local out="$RESULTS/wrk-$label-c$connections.txt"
    say "wrk $path ($label) -t$WRK_THREADS -c$connections -d${duration}s"
    local args=(-t"$WRK_THREADS" -c"$connections" -d"${duration}s" --latency --timeout 10s -s "$WORK/count.lua")
    [[ -n $cookie ]] && args+=(-H "Cookie: $cookie")
    timeout $((duration + 30)) wrk "${args[@]}" "$BASE$path" >"$out" 2>&1 || echo "wrk failed: see $out" >&2
    cat "$out" >&2
}
for connections in $WRK_CONNECTIONS; do
    run_wrk login-anonymous /login "$connections"
    run_wrk index /index "$connections" "$COOKIE"
    run_wrk user "/user/$NAME" "$connections" "$COOKIE"
done

# --- slow clients: the same page while SLOW_CLIENTS connections trickle their request heads ---------------------------
if [[ $SLOW_CLIENTS -gt 0 ]]; then
    say "holding $SLOW_CLIENTS slow connections (one byte per second each) while wrk measures /index for ${SLOW_DURATION}s"
    python3 Benchmarks/Tools/slow_clients.py --port "$PORT" --connections "$SLOW_CLIENTS" >"$RESULTS/slow-clients.txt" 2>&1 &
    SLOW_PID=$!
    for _ in $(seq 1 100); do grep -q '^ready' "$RESULTS/slow-clients.txt" && break; sleep 0.1; done
    grep -q '^ready' "$RESULTS/slow-clients.txt" || { echo "slow clients did not connect" >&2; cat "$RESULTS/slow-clients.txt" >&2; exit 1; }
    for connections in $WRK_CONNECTIONS; do
        run_wrk index-slow /index "$connections" "$COOKIE" "$SLOW_DURATION"
    done
    kill -TERM "$SLOW_PID" && wait "$SLOW_PID" || true
    cat "$RESULTS/slow-clients.txt" >&2
fi

# --- microblog-stress ------------------------------------------------------------------------------------------------
for kind in rename register; do
    [[ $RACE_ROUNDS -gt 0 ]] || break
    say "microblog-stress race --kind $kind --users $RACE_USERS --rounds $RACE_ROUNDS"
    timeout 1900 "$STRESS_BIN" race --url "$BASE" --kind "$kind" --users "$RACE_USERS" --rounds "$RACE_ROUNDS" \
        --max-seconds 1800 --json >"$RESULTS/race-$kind.json" 2>"$RESULTS/race-$kind.txt" \
        || echo "race $kind reported failures (exit $?)" >&2
    tail -3 "$RESULTS/race-$kind.txt" >&2
done
say "microblog-stress load --rate $LOAD_RATE --duration $LOAD_DURATION --users $LOAD_USERS"
timeout $((LOAD_DURATION + 600)) "$STRESS_BIN" load --url "$BASE" --rate "$LOAD_RATE" --duration "$LOAD_DURATION" \
    --users "$LOAD_USERS" --json >"$RESULTS/load.json" 2>"$RESULTS/load.txt" || echo "load failed (exit $?)" >&2
cat "$RESULTS/load.txt" >&2
{
    echo "VmRSS_after_load $(awk '/VmRSS/ {print $2}' /proc/$SERVER_PID/status) kB"
    echo "VmHWM_after_load $(awk '/VmHWM/ {print $2}' /proc/$SERVER_PID/status) kB"
} >>"$RESULTS/rss.txt"

# --- table -----------------------------------------------------------------------------------------------------------
say "results (raw outputs in $RESULTS)"
WRK_THREADS=$WRK_THREADS WRK_DURATION=$WRK_DURATION SLOW_CLIENTS=$SLOW_CLIENTS SLOW_DURATION=$SLOW_DURATION \
    python3 - "$RESULTS" "$WRK_CONNECTIONS" "$NAME" "$BCRYPT_COST" <<'PY'
import json, os, re, sys
results, connections, name, cost = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4]

def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

def wrk(label, c):
    path = os.path.join(results, f"wrk-{label}-c{c}.txt")
    text = open(path).read() if os.path.exists(path) else ""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p = {k: re.search(rf"^\s+{k}%\s+(\S+)", text, re.M) for k in ("50", "99")}
    non2xx = re.search(r"NON2XX (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return (f"{float(rps.group(1)):,.0f}" if rps else "n/a",
            f"{ms(p['50'].group(1)):.2f}" if p["50"] else "n/a",
            f"{ms(p['99'].group(1)):.2f}" if p["99"] else "n/a",
            non2xx.group(1) if non2xx else "n/a",
            errors.group(1).strip() if errors else "0")

print(f"\n| wrk (-t{os.environ['WRK_THREADS']}, {os.environ['WRK_DURATION']} s) | conns | req/s | p50 ms | p99 ms | non-2xx | socket errors |")
print("|---|---:|---:|---:|---:|---:|---|")
slow = f"GET /index (logged in), {os.environ['SLOW_CLIENTS']} slow clients, {os.environ['SLOW_DURATION']} s"
for label, path in (("login-anonymous", "GET /login (anonymous)"), ("index", "GET /index (logged in)"), ("user", f"GET /user/{name} (logged in)"), ("index-slow", slow)):
    for c in connections:
        if label == "index-slow" and not os.path.exists(os.path.join(results, f"wrk-{label}-c{c}.txt")):
            continue
        print(f"| {path} | {c} | " + " | ".join(wrk(label, c)) + " |")
slow_summary = os.path.join(results, "slow-clients.txt")
if os.path.exists(slow_summary):
    print("\n" + open(slow_summary).read().strip().splitlines()[-1])

print("\n| microblog-stress race | rounds ok | success | rejected | 5xx | other | rounds with 1 holder | p50 ms | p99 ms | max ms |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for kind in ("rename", "register"):
    try:
        r = json.loads(open(os.path.join(results, f"race-{kind}.json")).read().strip().splitlines()[-1])
        t, l = r["totals"], r["latency"]
        print(f"| {kind} x{r['users']} | {r['roundsOK']}/{r['roundsRun']} | {t['success']} | {t['rejected']} | {t['serverErrors']} | "
              f"{t['other'] + t['transportErrors']} | {t['roundsWithOneHolder']} | {l['p50']:.2f} | {l['p99']:.2f} | {l['max']:.2f} |")
    except Exception as error:
        print(f"| {kind} | no result ({error}) |")

try:
    r = json.loads(open(os.path.join(results, "load.json")).read().strip().splitlines()[-1])
    l = r["latency"]
    print(f"\n| microblog-stress load | target req/s | achieved req/s | p50 ms | p99 ms | p99.9 ms | max ms | unexpected status | statuses |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items()))
    print(f"| {r['mix']} x{r['users']} users | {r['rateTarget']} | {r['throughput']:,.0f} | {l['p50']:.2f} | {l['p99']:.2f} | {l['p999']:.2f} | {l['max']:.2f} | {r['unexpectedStatus']} | {statuses} |")
except Exception as error:
    print(f"\nload: no result ({error})")

rss = dict(line.split()[:2] for line in open(os.path.join(results, "rss.txt")) if line.strip())
print(f"\nServer RSS: {int(rss.get('VmRSS_start', 0)) / 1024:.1f} MB at start, {int(rss.get('VmRSS_after_load', 0)) / 1024:.1f} MB after the load "
      f"(peak {int(rss.get('VmHWM_after_load', 0)) / 1024:.1f} MB). Server BCRYPT_COST={cost}.")
PY
