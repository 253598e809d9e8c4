# Sourced by Benchmarks/run.sh and Benchmarks/sweep.sh: the benchmark server on a fresh database, its logged-in
# wrk user, and wrk's non-2xx counter. Expects SERVER_BIN, RESULTS, BCRYPT_COST and the functions say and die.

# Starts SERVER_BIN in a new temporary folder (named after $1) with its own database, logs and random SECRET_KEY (and
# per-client budgets out of the way: every load client is 127.0.0.1) on a
# free loopback port; sets WORK, PORT, BASE and SERVER_PID and stops the server (copying its output into RESULTS)
# when the script exits. Returns once the server answers, or dies after 30 s.
start_server() { # temporary folder prefix
    WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    BASE=http://127.0.0.1:$PORT
    SERVER_PID=
    trap stop_server EXIT
    say "starting $SERVER_BIN on $BASE (database $WORK/app.db, BCRYPT_COST=$BCRYPT_COST)"
    (
        cd "$WORK"
        exec env DATABASE_URL="$WORK/app.db" HOST=127.0.0.1 PORT="$PORT" BCRYPT_COST="$BCRYPT_COST" \
            SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')" LOG_DIR="$WORK/logs" \
            LOGIN_ATTEMPTS_PER_CLIENT=1000000 REGISTRATIONS_PER_HOUR=1000000 \
            PASSWORD_WORK_LOGINS=1000000 PASSWORD_WORK_REGISTRATIONS=1000000 "$SERVER_BIN" >"$WORK/server.out" 2>&1
    ) &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        curl -s -o /dev/null --max-time 1 "$BASE/login" && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.out" >&2; die "the server exited"; }
        sleep 0.1
    done
    curl -s -o /dev/null --max-time 1 "$BASE/login" || die "the server did not open $BASE in 30 s"
}

stop_server() {
    if [[ -n ${SERVER_PID:-} ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    cp "$WORK/server.out" "$RESULTS/server.out" 2>/dev/null || true
    rm -rf "$WORK"
}

# Registers and logs in `wrkuser` with curl, writes $1 posts, and sets COOKIE to its session cookie; checks that
# GET $2 answers 200 with it.
seed_wrk_user() { # posts, page to check
    NAME=wrkuser
    local password=wrk-password-$RANDOM$RANDOM jar=$WORK/cookies.txt
    token() { curl -s --max-time 10 -b "$jar" -c "$jar" "$BASE$1" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1; }
    post() { # path, urlencoded fields (without the token); prints the status
        local t; t=$(token "$1")
        curl -s -o /dev/null -w '%{http_code}' --max-time 30 -b "$jar" -c "$jar" --data "csrf_token=$t&$2" "$BASE$1"
    }
    say "registering and logging in $NAME with curl"
    [[ $(post /register "username=$NAME&email=$NAME%40bench.example.com&password=$password&password2=$password&submit=Register") == 302 ]] \
        || die "registration failed"
    [[ $(post /login "username=$NAME&password=$password&submit=Sign+In") == 302 ]] || die "login failed"
    for i in $(seq 1 "$1"); do
        [[ $(post /index "post=Post+$i+of+the+wrk+user%2C+the+quick+brown+fox+jumps+over+the+lazy+dog.&submit=Submit") == 302 ]] \
            || die "posting failed"
    done
    curl -s -o /dev/null --max-time 10 -b "$jar" -c "$jar" "$BASE/index"   # shows (and so deletes) the flashed message
    local session; session=$(awk -F'\t' '$6 == "session" {print $7}' "$jar" | tail -1)
    [[ -n $session ]] || die "no session cookie after login"
    COOKIE="session=$session"
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Cookie: $COOKIE" "$BASE$2") == 200 ]] \
        || die "GET $2 with the session cookie is not 200"
}

# Writes $WORK/count.lua: counts responses outside 2xx (wrk itself only reports those outside 2xx and 3xx) and
# prints `NON2XX <n>` at the end.
write_wrk_counter() {
    cat >"$WORK/count.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
function response(status, headers, body) if status < 200 or status > 299 then non2xx = non2xx + 1 end end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("non2xx") end
  io.write(string.format("NON2XX %d\n", total))
end
LUA
}
