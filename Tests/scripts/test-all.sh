#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need (SQLite headers, OpenSSL for
# the test certificates, the real SMTP server aiosmtpd in a virtualenv), runs `swift test`, then runs the
# suite again under ThreadSanitizer in its own build folder. Fails on any test failure or TSan report.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
dpkg -s libsqlite3-dev >/dev/null 2>&1 || missing+=(libsqlite3-dev)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-venv)
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
export MICROBLOG_TEST_PYTHON="$PWD/.venv/bin/python"

echo "== swift test"
swift build --build-tests
swift test

if [ "${MICROBLOG_SKIP_TSAN:-0}" != "1" ]; then
  echo "== swift test under ThreadSanitizer (.build-tsan)"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
  swift build --build-tests --sanitize=thread --scratch-path .build-tsan
  swift test --sanitize=thread --scratch-path .build-tsan
fi
