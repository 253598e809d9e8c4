#!/usr/bin/env bash
# Mutation check of the guards: each patch in Tests/scripts/mutants/ deletes or weakens one guard of Sources/ (its
# first lines say what it breaks and which tests must notice: `# tests: REGEX`, a `swift test --filter`). For each one
# this script applies it to a copy of the tree, builds, runs those tests on both engines, and reports whether the
# mutant was killed (a test failed) or survived. Every mutant must be killed; the exit status says whether all were.
#   usage: bash Tests/scripts/mutants.sh [NAME ...]     (default: every patch; NAME matches a patch's file name)
# Not in the test command: it builds once per mutant (about 1.5 minutes each on two cores). It expects what the test
# command installs (PostgreSQL, aiosmtpd and Selenium in .venv) and starts its own throwaway PostgreSQL cluster.
# The working tree is never changed, and may change while this runs: it is copied once to /tmp/microblog-mutants.base
# at the start, and each mutant is a fresh copy of that in /tmp/microblog-mutants, built in .build-mutants.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
copy=/tmp/microblog-mutants
base=$copy.base
scratch=$root/.build-mutants

# shellcheck source=Tests/scripts/postgres-cluster.sh
source Tests/scripts/postgres-cluster.sh
trap stop_postgres_cluster EXIT
start_postgres_cluster
export MICROBLOG_TEST_PYTHON="$root/.venv/bin/python"

patches=()
for patch in Tests/scripts/mutants/*.patch; do
  if [ $# -eq 0 ]; then patches+=("$patch"); continue; fi
  for name in "$@"; do [[ "$patch" == *"$name"* ]] && patches+=("$patch"); done
done

fresh_copy() {
  mkdir -p "$copy"
  rsync -a --delete "$base/" "$copy/"
}

run_tests() { # filter
  swift test --package-path "$copy" --scratch-path "$scratch" --skip-build --disable-xctest --filter "$1" >"$copy.test.log" 2>&1
}

mkdir -p "$base"
rsync -a --delete --exclude '.build*' --exclude '.git' --exclude '.venv' --exclude 'logs/*.log*' "$root/" "$base/"
started=$(date +%s)
echo "== mutants: ${#patches[@]} patches; the unmutated tree first"
fresh_copy
swift build --package-path "$copy" --scratch-path "$scratch" --build-tests >"$copy.build.log" 2>&1 \
  || { tail -30 "$copy.build.log"; echo "mutants: the unmutated tree does not build"; exit 1; }
filters=$(for patch in "${patches[@]}"; do sed -n 's/^# tests: //p' "$patch"; done | paste -sd'|')
if ! run_tests "$filters"; then
  grep -E '✘' "$copy.test.log" | head -20
  echo "mutants: the unmutated tree fails the mutants' tests; fix that first"
  exit 1
fi

killed=0
survived=()
for patch in "${patches[@]}"; do
  name=$(basename "$patch" .patch)
  what=$(sed -n 's/^# mutant: //p' "$patch")
  filter=$(sed -n 's/^# tests: //p' "$patch")
  fresh_copy
  (cd "$copy" && git apply "$base/$patch") || { survived+=("$name (does not apply)"); echo "-- $name: does not apply"; continue; }
  t0=$(date +%s)
  if ! swift build --package-path "$copy" --scratch-path "$scratch" --build-tests >"$copy.build.log" 2>&1; then
    survived+=("$name (does not build: a mutant must compile)")
    echo "-- $name: does not build"
    continue
  fi
  if run_tests "$filter"; then
    survived+=("$name: $what")
    echo "-- $name: SURVIVED ($what; $filter passed) in $(( $(date +%s) - t0 )) s"
  else
    killed=$((killed + 1))
    first=$(grep -m1 -E '✘ Test .* recorded an issue' "$copy.test.log" | cut -c1-160 || true)
    echo "-- $name: killed in $(( $(date +%s) - t0 )) s: ${first:-a test failed}"
  fi
done
fresh_copy

echo "== mutants: $killed of ${#patches[@]} killed in $(( $(date +%s) - started )) s"
if [ ${#survived[@]} -gt 0 ]; then
  for name in "${survived[@]}"; do echo "   survived: $name"; done
  exit 1
fi
