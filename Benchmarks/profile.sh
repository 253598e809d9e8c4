#!/usr/bin/env bash
# CPU profile of the release server under a short, bounded wrk load: perf sampling (cpu-clock, 2 kHz, DWARF call
# graphs), since valgrind 3.19's callgrind cannot read or run the Swift 6.3 toolchain's binaries here and the VM
# exposes no hardware counters (Benchmarks/README.md, "Profile"). Usage:
#   Benchmarks/profile.sh [PATH]        PATH: /user/wrkuser (default), /index, /login
# Settings: PROFILE_SECONDS (8) of load, PROFILE_CONNECTIONS (16), SEED_POSTS (5), SKIP_BUILD=1.
# Writes .build-bench/profile/perf.data and prints the top functions by inclusive and by self time.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SCRATCH=.build-bench
PROFILE_SECONDS=${PROFILE_SECONDS:-8}
PROFILE_CONNECTIONS=${PROFILE_CONNECTIONS:-16}
SEED_POSTS=${SEED_POSTS:-5}
NAME=wrkuser
TARGET=${1:-/user/$NAME}
OUT=$ROOT/$SCRATCH/profile
mkdir -p "$OUT"

command -v perf >/dev/null || apt-get install -y -qq linux-perf >/dev/null
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    swift build -c release --scratch-path "$SCRATCH" --product microblog
fi
SERVER_BIN=$ROOT/$SCRATCH/release/microblog

WORK=$(mktemp -d /tmp/microblog-profile.XXXXXX)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
BASE=http://127.0.0.1:$PORT
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

(
    cd "$WORK"
    exec env DATABASE_URL="$WORK/app.db" HOST=127.0.0.1 PORT="$PORT" BCRYPT_COST=4 LOG_DIR="$WORK/logs" \
        SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')" \
        LOGIN_ATTEMPTS_PER_CLIENT=1000000 REGISTRATIONS_PER_HOUR=1000000 \
        PASSWORD_WORK_LOGINS=1000000 PASSWORD_WORK_REGISTRATIONS=1000000 "$SERVER_BIN" >"$WORK/server.out" 2>&1
) &
SERVER_PID=$!
for _ in $(seq 1 600); do
    curl -s -o /dev/null --max-time 2 "$BASE/login" && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.out" >&2; exit 1; }
    sleep 0.2
done

JAR=$WORK/cookies.txt
token() { curl -s --max-time 30 -b "$JAR" -c "$JAR" "$BASE$1" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1; }
post() { local t; t=$(token "$1"); curl -s -o /dev/null -w '%{http_code}' --max-time 60 -b "$JAR" -c "$JAR" --data "csrf_token=$t&$2" "$BASE$1"; }
PASSWORD=profile-password-$RANDOM
[[ $(post /register "username=$NAME&email=$NAME%40bench.example.com&password=$PASSWORD&password2=$PASSWORD") == 302 ]]
[[ $(post /login "username=$NAME&password=$PASSWORD") == 302 ]]
for i in $(seq 1 "$SEED_POSTS"); do
    [[ $(post /index "post=Post+$i+of+the+wrk+user%2C+the+quick+brown+fox+jumps+over+the+lazy+dog.") == 302 ]]
done
curl -s -o /dev/null --max-time 30 -b "$JAR" -c "$JAR" "$BASE/index"
COOKIE="session=$(awk -F'\t' '$6 == "session" {print $7}' "$JAR" | tail -1)"
HEADER=(-H "Cookie: $COOKIE")
[[ $TARGET == /login ]] && HEADER=()
# Warm up outside the measurement, then sample the server while wrk runs.
timeout 60 wrk -t1 -c"$PROFILE_CONNECTIONS" -d2s "${HEADER[@]}" "$BASE$TARGET" >/dev/null
perf record -q -F 2000 -e cpu-clock --call-graph dwarf,16384 -p "$SERVER_PID" -o "$OUT/perf.data" -- sleep "$PROFILE_SECONDS" \
    >/dev/null 2>&1 &
PERF_PID=$!
timeout $((PROFILE_SECONDS + 60)) wrk -t2 -c"$PROFILE_CONNECTIONS" -d"${PROFILE_SECONDS}s" --latency "${HEADER[@]}" "$BASE$TARGET" \
    | tee "$OUT/wrk.txt"
wait "$PERF_PID" || true
echo "profile: $OUT/perf.data ($(awk '/requests in/ {print $1}' "$OUT/wrk.txt") requests to $TARGET)"
set +o pipefail   # head closes the pipes early
perf report -i "$OUT/perf.data" --stdio --sort dso 2>/dev/null | grep -E "Samples|Event count" || true
perf report -i "$OUT/perf.data" --children --sort symbol --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' \
    | swift demangle --simplified | cut -c1-200 | head -80 >"$OUT/inclusive.txt"
perf report -i "$OUT/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' \
    | swift demangle --simplified | cut -c1-200 | head -40 >"$OUT/self.txt"
echo "--- inclusive"; cat "$OUT/inclusive.txt"
echo "--- self"; cat "$OUT/self.txt"
