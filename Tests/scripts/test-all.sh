#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need (SQLite and ICU headers, OpenSSL for
# the test certificates, Debian's PostgreSQL server for the second backend, headless Chromium and its driver for
# the browser test, nginx and wrk for the deployment test, the real SMTP server aiosmtpd and Selenium in a virtualenv, spin and gcc for the model check),
# checks that nothing in the library traps on outside data (Tests/scripts/check-traps.py) and the registry's
# protocol model (Tests/scripts/model-check.sh), starts a throwaway PostgreSQL
# cluster on a free loopback port (stopped and deleted at exit), runs `swift test` against both backends and
# checks that no secret the tests used shows in a page, log or mail of the run, builds each of the simulation's
# mutants and checks that the simulation catches it (Tests/scripts/simulation-mutants.sh), then runs the tests again under
# ThreadSanitizer in its own build folder. Fails on any test failure, leaked secret or TSan report.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
dpkg -s libsqlite3-dev >/dev/null 2>&1 || missing+=(libsqlite3-dev)
# ICU's spoof checker gives the look-alike name rules (Sources/CICUSpoof); pkg-config finds it.
dpkg -s libicu-dev >/dev/null 2>&1 || missing+=(libicu-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-venv)
# The browser test (Tests/scripts/browser_check.py) drives Debian's Chromium through Debian's chromedriver:
# Selenium is handed both paths, so it never downloads a browser or a driver of its own.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
# The deployment test runs deploy/nginx-microblog.conf in Debian's nginx, under load from wrk.
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if ! .venv/bin/python -c 'import aiosmtpd' >/dev/null 2>&1; then
  echo "== installing aiosmtpd into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check aiosmtpd
fi
if ! .venv/bin/python -c 'import selenium' >/dev/null 2>&1; then
  echo "== installing selenium into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check selenium
fi
export MICROBLOG_TEST_PYTHON="$PWD/.venv/bin/python"

# No construct that traps on outside data (row subscripts, try!, force unwraps without a stated invariant) in the
# library; the guard's own self-test first, so a guard that stopped seeing them fails too.
python3 Tests/scripts/check-traps.py --self-test
python3 Tests/scripts/check-traps.py Sources/Microblog

# The registry's protocol, model-checked by spin: the model must hold, its mutants must fail.
bash Tests/scripts/model-check.sh

# Swift Testing only (the suite has no XCTest cases); each run's summary line is kept for the closing line.
summary=$(mktemp)
# shellcheck source=Tests/scripts/postgres-cluster.sh
source Tests/scripts/postgres-cluster.sh
cleanup() {
  rm -f "$summary"
  stop_postgres_cluster
}
trap cleanup EXIT

# PostgreSQL, the second backend: a throwaway cluster, stopped and deleted at exit.
start_postgres_cluster
run_tests() { # artifacts folder, swift test arguments...
  # The tests keep every page, log file, server output and mail, and every secret they used, in the artifacts
  # folder; after the run, check-secrets.py greps the former for the latter.
  local artifacts=$1
  shift
  rm -rf "$artifacts"
  # Output streams through unchanged; awk appends the summary line to $summary (no file is reopened by path,
  # which would truncate a log the caller redirects into).
  # A watchdog: a hung test fails the command within 30 minutes instead of holding it.
  # The timed suite (answers that must not wait) runs afterwards on its own, one test at a time: the rest of the
  # suite beside it on two cores would make its clock measure them. So does the deployment test, whose wrk load
  # would take the two cores from every test beside it.
  local pass
  for pass in "--skip PromptAnswerTests --skip DeploymentTests" "--filter PromptAnswerTests|DeploymentTests --no-parallel"; do
    # shellcheck disable=SC2086
    MICROBLOG_TEST_ARTIFACTS="$artifacts" timeout --kill-after=30 1800 swift test --disable-xctest $pass "$@" 2>&1 \
      | awk -v summary="$summary" '{ print; fflush() } /Test run with [0-9]+ tests/ { print >> summary }'
  done
  python3 Tests/scripts/check-secrets.py "$artifacts"
}

echo "== swift test"
swift build --build-tests
run_tests "$PWD/.build/test-artifacts"

# The deterministic simulation's mutants: each a compile-time switch that removes one guard of the registry, the login
# throttle or the log sink, and the simulation must catch each (about 2 minutes: three incremental builds).
echo "== the simulation's mutants"
bash Tests/scripts/simulation-mutants.sh

if [ "${MICROBLOG_SKIP_TSAN:-0}" != "1" ]; then
  echo "== swift test under ThreadSanitizer (.build-tsan)"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
  # Two test cases at a time: instrumented code is several times slower, and the whole suite at once (with the
  # PostgreSQL cluster, server processes and Chromium beside it) starved the timing-sensitive tests on two cores.
  export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=2
  swift build --build-tests --sanitize=thread --scratch-path .build-tsan
  run_tests "$PWD/.build-tsan/test-artifacts" --sanitize=thread --scratch-path .build-tsan
fi

# One plain closing line over all runs, e.g. "188 passed, 0 failed".
passed=0
for count in $(grep -oE 'with [0-9]+ tests' "$summary" | grep -oE '[0-9]+'); do passed=$((passed + count)); done
echo "$passed passed, 0 failed"
