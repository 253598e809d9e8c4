#!/usr/bin/env bash
# Latency curves (Benchmarks/README.md, "Latency curves"): builds release into .build-bench, starts the server on a
# fresh database and a free loopback port, then
#   1. wrk (closed loop) at 1, 2, 4, ... 256 connections on GET /user/wrkuser (logged in), WRK_DURATION s each;
#   2. finds saturation: the most microblog-stress load gets done when asked for more than the server can do
#      (probes from the wrk sweep's best req/s, then 10 % above the most achieved while that keeps up);
#   3. microblog-stress load (open loop, latency from each request's due time) at 10 % ... 125 % of saturation;
#   4. writes one CSV per series and draws p50 and p99 against achieved throughput: Benchmarks/curves/wrk-connections.svg
#      and Benchmarks/curves/open-loop.svg (matplotlib, in its own virtualenv .build-bench/plot-venv).
# With SECOND_URL (a server already running on loopback, e.g. the Flask original) the same sweeps run against it too
# and both are drawn on the same axes.
#
# Everything stays on 127.0.0.1; every step is bounded in time. Settings (environment):
#   WRK_CONNECTIONS  connection counts ("1 2 4 8 16 32 64 128 256"; "" skips wrk)   WRK_DURATION  seconds per wrk run (5)
#   WRK_THREADS      wrk threads (2; fewer when there are fewer connections)
#   WRK_PATH         page wrk measures on this server, with the logged-in cookie (/user/wrkuser)
#   LOAD_PERCENTS    open-loop rates in % of saturation ("10 25 50 70 80 90 100 110 125")
#   LOAD_DURATION    seconds per open-loop run (10)   LOAD_USERS (16)   LOAD_MIX (index=45,user=45,edit=10)
#   SATURATION       req/s to take as saturation for this server instead of probing
#   PROBE_DURATION   seconds of each saturation probe (10; two to six probes)
#   SECOND_URL       base URL of a second server to sweep too (loopback only; it must already be running)
#   SECOND_LABEL     its name in the legends (second)        FIRST_LABEL  this server's (swift)
#   PATH_SECOND      page wrk measures there, anonymously (/login)
#   SECOND_SATURATION  like SATURATION, for the second server
#   BCRYPT_COST      bcrypt cost of this server (4: each open-loop run registers LOAD_USERS users first)
#   SETTLE           seconds of rest between runs (2)
#   SKIP_BUILD=1     use the binaries already in .build-bench/release
#   RESULTS          folder for raw outputs and CSVs (default .build-bench/sweep-results/<timestamp>)
#   CURVES           folder the SVGs are written to (default Benchmarks/curves)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SCRATCH=.build-bench
WRK_CONNECTIONS=${WRK_CONNECTIONS-"1 2 4 8 16 32 64 128 256"}
WRK_DURATION=${WRK_DURATION:-5}
WRK_THREADS=${WRK_THREADS:-2}
WRK_PATH=${WRK_PATH:-/user/wrkuser}
LOAD_PERCENTS=${LOAD_PERCENTS-"10 25 50 70 80 90 100 110 125"}
LOAD_DURATION=${LOAD_DURATION:-10}
LOAD_USERS=${LOAD_USERS:-16}
LOAD_MIX=${LOAD_MIX:-index=45,user=45,edit=10}
SATURATION=${SATURATION:-}
PROBE_DURATION=${PROBE_DURATION:-10}
SECOND_URL=${SECOND_URL:-}
SECOND_LABEL=${SECOND_LABEL:-second}
FIRST_LABEL=${FIRST_LABEL:-swift}
PATH_SECOND=${PATH_SECOND:-/login}
SECOND_SATURATION=${SECOND_SATURATION:-}
BCRYPT_COST=${BCRYPT_COST:-4}
SETTLE=${SETTLE:-2}
RESULTS=${RESULTS:-$SCRATCH/sweep-results/$(date +%Y%m%d-%H%M%S)}
CURVES=${CURVES:-Benchmarks/curves}
mkdir -p "$RESULTS" "$CURVES"
RESULTS=$(cd "$RESULTS" && pwd)
CURVES=$(cd "$CURVES" && pwd)

say() { printf '\n== %s\n' "$*" >&2; }
die() { echo "sweep.sh: $*" >&2; exit 1; }
# shellcheck source=Benchmarks/bench-server.sh
source "$ROOT/Benchmarks/bench-server.sh"

if [[ -n $SECOND_URL ]]; then
    SECOND_URL=${SECOND_URL%/}
    [[ $SECOND_URL =~ ^http://(127\.[0-9]+\.[0-9]+\.[0-9]+|localhost|\[::1\])(:[0-9]+)?$ ]] \
        || die "SECOND_URL must be a loopback base URL such as http://127.0.0.1:5000 (got $SECOND_URL)"
    [[ $SECOND_LABEL =~ ^[A-Za-z0-9_.-]+$ && $SECOND_LABEL != "$FIRST_LABEL" ]] \
        || die "SECOND_LABEL must be a plain word other than FIRST_LABEL"
fi
[[ $FIRST_LABEL =~ ^[A-Za-z0-9_.-]+$ ]] || die "FIRST_LABEL must be a plain word"

# --- tools ---------------------------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
    say "installing wrk (Debian package)"
    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
command -v python3 >/dev/null || die "python3 is needed to read the results and draw the curves"
VENV=$ROOT/$SCRATCH/plot-venv
MATPLOTLIB_VERSION=3.11.2
if ! "$VENV/bin/python" -c "import matplotlib, sys; sys.exit(matplotlib.__version__ != '$MATPLOTLIB_VERSION')" 2>/dev/null; then
    say "installing matplotlib $MATPLOTLIB_VERSION into $VENV"
    python3 -m venv "$VENV"
    timeout 600 "$VENV/bin/pip" install -q --disable-pip-version-check "matplotlib==$MATPLOTLIB_VERSION"
fi
PLOT_PYTHON=$VENV/bin/python

# --- build ---------------------------------------------------------------------------------------------------------
SERVER_BIN=$ROOT/$SCRATCH/release/microblog
STRESS_BIN=$ROOT/$SCRATCH/release/microblog-stress
# The commit the binaries were built from (with + when Sources or Package.swift differed from it), for the curves'
# caption. A stamp older than the server binary means something else rebuilt it since.
STAMP=$ROOT/$SCRATCH/release/microblog.sweep-commit
describe_tree() {
    local commit; commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    [[ -z $(git status --porcelain -- Sources Package.swift 2>/dev/null) ]] || commit="$commit+"
    echo "$commit"
}
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    say "building release into $SCRATCH"
    TREE=$(describe_tree)
    swift build -c release --scratch-path "$SCRATCH" --product microblog
    swift build -c release --scratch-path "$SCRATCH" --product microblog-stress
    echo "$TREE" >"$STAMP"
fi
[[ -x $SERVER_BIN && -x $STRESS_BIN ]] || die "missing $SERVER_BIN or $STRESS_BIN (build first, or drop SKIP_BUILD)"
if [[ -f $STAMP && ! $SERVER_BIN -nt $STAMP ]]; then
    COMMIT=$(cat "$STAMP")
else
    COMMIT="binary of unknown commit (HEAD $(describe_tree))"
fi

# --- server on a fresh database --------------------------------------------------------------------------------------
start_server microblog-sweep
if [[ -n $SECOND_URL ]]; then
    curl -s -o /dev/null --max-time 5 "$SECOND_URL$PATH_SECOND" || die "nothing answers at $SECOND_URL$PATH_SECOND"
fi

# --- one logged-in user with posts, for wrk's cookie ---------------------------------------------------------------
seed_wrk_user 5 "$WRK_PATH"

# --- helpers -----------------------------------------------------------------------------------------------------------
write_wrk_counter

# Reads wrk's text output: req/s, p50 ms, p99 ms, non-2xx, socket errors (as CSV fields).
wrk_fields() {
    python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(s):
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)$", s).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
if not (rps and p50 and p99):
    sys.exit(1)
non2xx = re.search(r"NON2XX (\d+)", text)
errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
print(f"{float(rps.group(1)):.1f},{ms(p50.group(1)):.3f},{ms(p99.group(1)):.3f},"
      f"{non2xx.group(1) if non2xx else 0},{sum(map(int, errors.groups())) if errors else 0}")
PY
}

# Reads microblog-stress load's JSON line: achieved req/s, p50, p99, p99.9 ms, unexpected status, transport errors.
load_fields() {
    python3 - "$1" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]).read().splitlines() if l.startswith("{")]
if not lines:
    sys.exit(1)
r = json.loads(lines[-1])
l = r["latency"]
print(f"{r['throughput']:.1f},{l['p50']:.3f},{l['p99']:.3f},{l['p999']:.3f},{r['unexpectedStatus']},{r['transportErrors']}")
PY
}

# One wrk run: base URL, path, connections, output file, cookie (may be empty).
run_wrk() {
    local base=$1 path=$2 connections=$3 out=$4 cookie=${5:-}
    local threads=$(( connections < WRK_THREADS ? connections : WRK_THREADS ))
    local args=(-t"$threads" -c"$connections" -d"${WRK_DURATION}s" --latency --timeout 10s -s "$WORK/count.lua")
    [[ -n $cookie ]] && args+=(-H "Cookie: $cookie")
    timeout $((WRK_DURATION + 30)) wrk "${args[@]}" "$base$path" >"$out" 2>&1 || echo "wrk failed: see $out" >&2
}

# One open-loop run: base URL, rate, duration, output prefix. Prints the CSV fields, or nothing if it failed.
run_load() {
    local base=$1 rate=$2 duration=$3 out=$4
    timeout $((duration * 3 + 300)) "$STRESS_BIN" load --url "$base" --rate "$rate" --duration "$duration" \
        --users "$LOAD_USERS" --mix "$LOAD_MIX" --json >"$out.json" 2>"$out.txt" \
        || echo "load at $rate req/s exited with $? (see $out.txt)" >&2
    load_fields "$out.json" || true
}

# Saturation: the most the open loop gets done. First it asks for more than the server can do (the wrk sweep's best
# req/s, doubled while the open loop keeps up); under such an overload all --max-in-flight requests are outstanding
# at once, which costs some throughput, so it then asks for 10 % more than it got, as long as it keeps up (97 %).
# Prints the saturation in req/s. Arguments: label, base URL, wrk's best req/s.
probe_saturation() {
    local label=$1 base=$2 rate most=0 overloaded= fields achieved
    rate=$(python3 -c "print(max(100, round($3)))")
    for attempt in 1 2 3 4 5 6; do
        sleep "$SETTLE"
        fields=$(run_load "$base" "$rate" "$PROBE_DURATION" "$RESULTS/probe-$label-$rate")
        [[ -n $fields ]] || die "the saturation probe against $base at $rate req/s gave no result"
        achieved=$(python3 -c "print(round(${fields%%,*}))")
        most=$(( achieved > most ? achieved : most ))
        say "$label saturation probe $attempt: achieved $achieved req/s of $rate asked for $PROBE_DURATION s"
        if python3 -c "import sys; sys.exit(0 if $achieved >= 0.97 * $rate else 1)"; then
            # Kept up: double until something overloads it, then keep stepping by 10 %.
            [[ -z $overloaded ]] && rate=$((rate * 2)) || rate=$(python3 -c "print(round($most * 1.1))")
        else
            [[ -z $overloaded ]] || break
            overloaded=1
            rate=$(python3 -c "print(round($most * 1.1))")
        fi
    done
    [[ -n $overloaded ]] || die "the open loop kept up with every probe up to $rate req/s: give SATURATION"
    echo "$most"
}

# The whole sweep for one server: label, base URL, wrk path, cookie, saturation (empty: probe).
sweep() {
    local label=$1 base=$2 path=$3 cookie=$4 saturation=$5
    local wrk_csv=$RESULTS/wrk-$label.csv load_csv=$RESULTS/load-$label.csv
    echo "connections,rps,p50_ms,p99_ms,non2xx,socket_errors,loadavg_1min" >"$wrk_csv"
    local best=0
    for connections in $WRK_CONNECTIONS; do
        sleep "$SETTLE"
        local out=$RESULTS/wrk-$label-c$connections.txt
        run_wrk "$base" "$path" "$connections" "$out" "$cookie"
        local fields
        if fields=$(wrk_fields "$out"); then
            echo "$connections,$fields,$(cut -d' ' -f1 /proc/loadavg)" >>"$wrk_csv"
            say "$label wrk -c$connections $path: req/s, p50 ms, p99 ms, non-2xx, socket errors = $fields"
            best=$(python3 -c "print(max($best, ${fields%%,*}))")
        else
            say "$label wrk -c$connections: no result (see $out)"
        fi
    done

    local source=given
    if [[ -z $saturation ]]; then
        source=probe
        saturation=$(probe_saturation "$label" "$base" "$best") || exit 1
    fi
    echo "$label,$base,$path,$saturation,$source,$best" >>"$RESULTS/series.csv"

    echo "percent,target_rps,achieved_rps,p50_ms,p99_ms,p999_ms,unexpected_status,transport_errors,loadavg_1min" >"$load_csv"
    for percent in $LOAD_PERCENTS; do
        local rate
        rate=$(python3 -c "print(max(1, round($saturation * $percent / 100)))")
        sleep "$SETTLE"
        local fields
        fields=$(run_load "$base" "$rate" "$LOAD_DURATION" "$RESULTS/load-$label-p$percent")
        if [[ -n $fields ]]; then
            echo "$percent,$rate,$fields,$(cut -d' ' -f1 /proc/loadavg)" >>"$load_csv"
            say "$label open loop $percent % = $rate req/s: achieved, p50, p99, p99.9 ms, unexpected, errors = $fields"
        else
            say "$label open loop $percent % = $rate req/s: no result"
        fi
    done
}

# --- the sweeps ----------------------------------------------------------------------------------------------------------
echo "label,url,wrk_path,saturation_rps,saturation_source,wrk_best_rps" >"$RESULTS/series.csv"
START=$(date -u '+%Y-%m-%d %H:%M UTC')
echo "start $(cut -d' ' -f1-3 /proc/loadavg)" >"$RESULTS/loadavg.txt"
sweep "$FIRST_LABEL" "$BASE" "$WRK_PATH" "$COOKIE" "$SATURATION"
[[ -z $SECOND_URL ]] || sweep "$SECOND_LABEL" "$SECOND_URL" "$PATH_SECOND" "" "$SECOND_SATURATION"

echo "end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/loadavg.txt"

# --- curves ----------------------------------------------------------------------------------------------------------------
say "drawing the curves into $CURVES (raw outputs and CSVs in $RESULTS)"
"$PLOT_PYTHON" Benchmarks/plot_sweep.py --results "$RESULTS" --out "$CURVES" \
    --note "$COMMIT, $START, $(nproc) cores, wrk -t$WRK_THREADS ${WRK_DURATION}s per point, open loop ${LOAD_DURATION}s per point, $LOAD_USERS users, $LOAD_MIX" \
    --logged-in "$FIRST_LABEL" | tee "$RESULTS/summary.md"
