# Sourced by test-all.sh and mutants.sh: a throwaway PostgreSQL cluster for the tests' second backend.
# start_postgres_cluster starts Debian's PostgreSQL (trust auth, fsync off) on a free port of 127.0.0.1 with its
# socket in its own folder, and exports MICROBLOG_TEST_POSTGRES_URL; stop_postgres_cluster stops it and deletes it.
# The server refuses to run as root, so as root it runs as Debian's `postgres` user. Each test creates its own
# database in it (Tests/MicroblogTests/Support/TestEnvironment.swift).
pg_root=""
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

as_postgres() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups "$@"; else "$@"; fi
}

start_postgres_cluster() {
  pg_root=$(mktemp -d /tmp/microblog-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres: "$pg_root"
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "== PostgreSQL $("$pg_bin/postgres" --version | grep -oE '[0-9]+(\.[0-9]+)+' | head -1) on 127.0.0.1:$port"
  as_postgres "$pg_bin/initdb" -D "$pg_root/data" -U postgres -A trust -E UTF8 --no-sync >"$pg_root/initdb.log" 2>&1 \
    || { cat "$pg_root/initdb.log"; return 1; }
  as_postgres "$pg_bin/pg_ctl" -D "$pg_root/data" -l "$pg_root/server.log" -w -t 60 \
    -o "-p $port -k $pg_root -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { cat "$pg_root/server.log"; return 1; }
  export MICROBLOG_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

stop_postgres_cluster() {
  if [ -n "$pg_root" ]; then
    as_postgres "$pg_bin/pg_ctl" -D "$pg_root/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_root"
    pg_root=""
  fi
}
