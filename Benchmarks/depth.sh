#!/usr/bin/env bash
# Page depth: a release microblog on an SQLite database seeded by seed-feed.py (100,000 users, 1,000,000 posts, one
# user `heavy` with 100,000), signed in, under wrk -t1 -c16: /index at the depth of the tutorial's page 1, 500, 5,000
# and 50,000, /user/heavy at 1, 500 and 5,000 (each a cursor, ?older=<post id>), ROUNDS (3) rounds of 5 s a page; then
# a light user's profile quiet and while 8 connections ask for the deepest /index page. Figures go to stdout and $OUT (default a
# temporary folder). Usage: Benchmarks/depth.sh .build/release/microblog
set -euo pipefail
binary=$(realpath "${1:?usage: Benchmarks/depth.sh PATH/TO/release/microblog}")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/microblog-depth.XXXXXX)
OUT=${OUT:-$work/out}
mkdir -p "$OUT"
base=http://127.0.0.1:8090
pid=""
start() {
  env DATABASE_URL="$work/app.db" SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')" \
    PORT=8090 LOG_DIR="$work/logs" BCRYPT_COST=4 "$binary" >>"$work/server.out" 2>&1 &
  pid=$!
  for _ in $(seq 120); do grep -q "Microblog listening" "$work/server.out" 2>/dev/null && return 0; sleep 0.5; done
  echo "the server did not start:"; cat "$work/server.out"; exit 1
}
stop() { kill "$pid"; wait "$pid" || true; }
trap 'stop 2>/dev/null || true' EXIT

start; stop                                   # creates and migrates the database
python3 "$here/seed-feed.py" "$work/app.db" | tee "$OUT/seed.txt"
: >"$work/server.out"; start

# One real user, registered and logged in through the forms; its session cookie drives wrk.
session=$(python3 - "$base" <<'PY'
import http.cookiejar, re, sys, urllib.error, urllib.parse, urllib.request
base = sys.argv[1]
jar = http.cookiejar.CookieJar()
class Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs): return None
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), Stay())
def send(path, form=None):
    request = urllib.request.Request(base + path, urllib.parse.urlencode(form).encode() if form else None)
    if form: request.add_header("Origin", base)
    try:
        with opener.open(request, timeout=60) as response: return response.status, response.read().decode()
    except urllib.error.HTTPError as error: return error.code, error.read().decode("utf-8", "replace")
def token(path):
    return re.search(r'name="csrf_token"[^>]*value="([^"]*)"', send(path)[1]).group(1)
password = "bench-password-12345"
send("/register", {"csrf_token": token("/register"), "username": "bench", "email": "bench@example.org",
                   "password": password, "password2": password, "submit": "Register"})
status, _ = send("/login", {"csrf_token": token("/login"), "username": "bench", "password": password, "submit": "Sign In"})
cookies = [cookie.value for cookie in jar if cookie.name == "session"]
assert status == 302 and cookies, "login failed"
print(cookies[0])
PY
)

# The post before each depth's page (20 posts a page), read from the file.
cursor() { # page [author]
  python3 - "$work/app.db" "$@" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
page = int(sys.argv[2])
where, arguments = "", []
if len(sys.argv) > 3:
    where, arguments = " WHERE user_id = (SELECT id FROM user WHERE username_key = ?)", [sys.argv[3]]
print(db.execute(f"SELECT id FROM post{where} ORDER BY timestamp DESC, id DESC LIMIT 1 OFFSET ?",
                 arguments + [(page - 1) * 20 - 1]).fetchone()[0])
PY
}
measure() { # name path wrk-arguments...
  local name=$1 path=$2; shift 2
  wrk -t1 "$@" --latency -H "Cookie: session=$session" "$base$path" >"$OUT/$name.txt" 2>&1
  printf '%-16s %8s req/s  p50 %9s  p99 %9s  %s\n' "$name" \
    "$(awk '/Requests\/sec/ {print $2}' "$OUT/$name.txt")" "$(awk '$1 == "50%" {print $2}' "$OUT/$name.txt")" \
    "$(awk '$1 == "99%" {print $2}' "$OUT/$name.txt")" "$(grep -E 'Non-2xx|Socket errors' "$OUT/$name.txt" | tr '\n' ' ')"
}
# The depths in turn, ROUNDS times (5 s each), so that the machine's drift over the run falls on every depth alike;
# each depth's median, and its ratio to its first page's.
pages=("index-1 /index")
for page in 500 5000 50000; do pages+=("index-$page /index?older=$(cursor $page)"); done
pages+=("heavy-1 /user/heavy")
for page in 500 5000; do pages+=("heavy-$page /user/heavy?older=$(cursor $page heavy)"); done
for round in $(seq "${ROUNDS:-3}"); do
  for entry in "${pages[@]}"; do
    read -r name path <<<"$entry"
    wrk -t1 -c16 -d5s --latency -H "Cookie: session=$session" "$base$path" >"$OUT/$name.$round.txt" 2>&1
    echo "$name $(awk '/Requests\/sec/ {print $2}' "$OUT/$name.$round.txt")" >>"$OUT/depths.txt"
  done
done
python3 - "$OUT/depths.txt" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, rate = line.split()
    runs.setdefault(name, []).append(float(rate))
for name, rates in runs.items():
    first = statistics.median(runs[name.split("-")[0] + "-1"])
    print(f"{name:16s} {statistics.median(rates):8.0f} req/s (median of {len(rates)})  {statistics.median(rates) / first:5.2f} of the first page")
PY
measure user5-quiet "/user/user5" -c1 -d10s
wrk -t1 -c8 -d30s -H "Cookie: session=$session" "$base/index?older=$(cursor 50000)" >"$OUT/deepest-load.txt" 2>&1 &
load=$!
sleep 5
measure user5-loaded "/user/user5" -c1 -d10s
wait "$load"
echo "figures in $OUT"
