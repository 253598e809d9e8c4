#!/usr/bin/env bash
# The simulation's mutants: each removes one guard of the real code behind a compile-time switch (`#if MUTANT_...`,
# defined for the Microblog target when MICROBLOG_SIMULATION_MUTANT names it, see Package.swift), and the simulation
# suite of that code must fail:
#   MUTANT_VALIDATE_THEN_COMMIT  UserRegistry registers by validating, then committing (the tutorial's fix)
#   MUTANT_CHECK_THEN_RECORD     LoginThrottle checks whether the subjects are blocked, then records the attempt
#   MUTANT_UNGUARDED_BARRIER     the log buffer's flush barrier returns without waiting for the records before it
# For each, builds the tests with the switch (in .build: the Microblog module and what depends on it are rebuilt),
# runs the suite, and prints how many seeds each failing test ran before its failure, and the shrunk failure's size.
# A mutant the suite does not catch fails the script. At the end the tests are built again without a switch.
#   usage: bash Tests/scripts/simulation-mutants.sh [--hunt]
#   --hunt: also runs each mutant's random and PCT tests from 20 starting seeds (SIMULATION_START_SEED) and prints
#           the median number of seeds needed to find it, 10,000 seeds at most from each (not in the test command).
set -euo pipefail
cd "$(dirname "$0")/../.."

hunt=0
[ "${1:-}" = "--hunt" ] && hunt=1

mutants=(
  "MUTANT_VALIDATE_THEN_COMMIT|RegistrySimulationTests|reached the database at once"
  "MUTANT_CHECK_THEN_RECORD|ThrottleSimulationTests|the client network's count is"
  "MUTANT_UNGUARDED_BARRIER|LogSinkSimulationTests|were not mailed, and the file reports"
)

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failures=()
for entry in "${mutants[@]}"; do
  IFS='|' read -r mutant suite expected <<<"$entry"
  t0=$(date +%s)
  if ! MICROBLOG_SIMULATION_MUTANT=$mutant swift build --build-tests >"$log" 2>&1; then
    tail -20 "$log"
    failures+=("$mutant does not build")
    continue
  fi
  if MICROBLOG_SIMULATION_MUTANT=$mutant swift test --skip-build --disable-xctest --filter "$suite" >"$log" 2>&1; then
    failures+=("$mutant: $suite passed")
    echo "-- $mutant: SURVIVED ($suite passed)"
    continue
  fi
  if ! grep -q "$expected" "$log"; then
    grep -E '✘ Test .* recorded an issue' "$log" | head -5 | cut -c1-240
    failures+=("$mutant: $suite failed, but not with \"$expected\"")
    continue
  fi
  found=$(grep -oE '^  [^ ].*, seed [0-9]+ \(.*\): found after [0-9]+ seeds?' "$log" | sort -u | sed 's/^  //' | paste -sd';' -)
  shrunk=$(grep -oE '^  shrunk: [0-9]+ steps, [0-9]+ choices off' "$log" | sort -u | head -1 | sed 's/^  //')
  echo "-- $mutant: caught by $suite in $(( $(date +%s) - t0 )) s with its build: $found; $shrunk the first-ready order"
  if [ "$hunt" = 1 ]; then
    for test in randomSchedules pctSchedules; do
      counts=()
      for start in $(seq 0 19); do
        out=$(MICROBLOG_SIMULATION_MUTANT=$mutant SIMULATION_START_SEED=$((start * 1000003)) SIMULATION_SEEDS=10000 \
          swift test --skip-build --disable-xctest --filter "$suite/$test" 2>&1 || true)
        while read -r count; do counts+=("$count"); done < <(echo "$out" | grep -oE '^  [^ ].*, seed [0-9]+ \(.*\): found after [0-9]+' | sort -u | grep -oE '[0-9]+$')
      done
      if [ ${#counts[@]} -eq 0 ]; then echo "   $test: not found from any of 20 starting seeds"; continue; fi
      median=$(printf '%s\n' "${counts[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
      echo "   $test: found in ${#counts[@]} runs (20 starting seeds, each engine); seeds needed: median $median, most $(printf '%s\n' "${counts[@]}" | sort -n | tail -1)"
    done
  fi
done
swift build --build-tests >"$log" 2>&1 || { tail -20 "$log"; failures+=("the tests do not build again without a mutant"); }

if [ ${#failures[@]} -gt 0 ]; then
  for failure in "${failures[@]}"; do echo "   FAIL: $failure"; done
  echo "== simulation mutants: FAILED"
  exit 1
fi
echo "== simulation mutants: ${#mutants[@]} of ${#mutants[@]} caught"
