#!/usr/bin/env bash
# Model-checks the username registry's protocol (Tests/Model/registry.pml) and the login throttle's admission
# (Tests/Model/throttle.pml), both described in Tests/Model/README.md, with spin: installs Debian's spin and gcc if missing, generates and compiles the verifier for each run in a
# temporary folder, and searches every interleaving of the model.
# - The model (SQLite, PostgreSQL, and the check moved outside the transaction with the constraint mapped) must
#   pass, and the search must be complete: a full state space (no bitstate, no hash compaction), the depth
#   limit never reached, assertions and invalid end states checked.
# - Each mutant must fail, and for the expected reason. The first mutant's counterexample is printed as plain
#   steps, with the deterministic Swift test that replays the same schedule.
# Prints states, depth and time of each run. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

model=Tests/Model/registry.pml
tests=Tests/MicroblogTests/Users/UserRegistryTests.swift
[ -f "$model" ] || { echo "model-check: $model not found" >&2; exit 1; }

missing=()
command -v spin >/dev/null 2>&1 || missing+=(spin)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spin gcc
fi

work=$(mktemp -d /tmp/model-check.XXXXXX)
trap 'rm -rf "$work"' EXIT

failures=()
fail() { # message
  echo "   FAIL: $1"
  failures+=("$1")
}

# Generates, compiles and runs the verifier for one configuration in its own folder; leaves pan's output in
# $dir/pan.out and the figures in $states $matched $depth $errors $seconds.
verify() { # name, extra cc flags, spin switches...
  local name=$1 ccflags=$2
  shift 2
  dir="$work/$name"
  mkdir -p "$dir"
  cp "$model" "$dir/model.pml"
  if ! (cd "$dir" && spin "$@" -a model.pml >spin.out 2>&1); then
    cat "$dir/spin.out"
    return 1
  fi
  # -DSAFETY: safety properties only (assertions, invalid end states); -DCOLLAPSE: lossless state compression.
  # shellcheck disable=SC2086
  (cd "$dir" && gcc -O2 -w -DSAFETY -DCOLLAPSE $ccflags -o pan pan.c) || return 1
  # -m: depth limit, far above the model's (about 100); -w20: a 2^20-slot hash table (collisions chain, lossless).
  (cd "$dir" && ./pan -m10000 -w20 >pan.out 2>&1) || true
  states=$(awk '/states, stored/ { print $1; exit }' "$dir/pan.out")
  matched=$(awk '/states, matched/ { print $1; exit }' "$dir/pan.out")
  depth=$(sed -n 's/.*depth reached \([0-9]*\),.*/\1/p' "$dir/pan.out" | head -1)
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$dir/pan.out" | head -1)
  seconds=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' "$dir/pan.out" | head -1)
  : "${states:=?}" "${matched:=?}" "${depth:=?}" "${errors:=?}" "${seconds:=?}"
}

figures() { echo "$states states stored, $matched matched, depth $depth, ${seconds} s"; }

# Replays the counterexample pan wrote in $dir and prints it as plain steps (the model's printf lines) and the
# property it breaks.
print_trail() { # spin switches...
  (cd "$dir" && spin "$@" -t model.pml >trail.out 2>&1) || true
  sed -n 's/^ *MSC: //p' "$dir/trail.out" | awk '{ printf "   %3d. %s\n", NR, $0 }'
  sed -n 's/^spin: \(model.pml:[0-9]*, Error: .*\)/        \1/p; s/^spin: \(text of failed assertion: .*\)/        \1/p' \
    "$dir/trail.out" | awk 'length($0) <= 300'
}

# Whether the search covered the whole state space with every property on.
complete() { # pan output
  grep -q '^Full statespace search for:' "$1" &&
    grep -q $'assertion violations\t+' "$1" &&
    grep -q $'invalid end states\t+' "$1" &&
    ! grep -qE 'max search depth too small|Search not completed|out of memory|reached -DMEMLIM|hash-compact|bitstate|Bit statespace' "$1"
}

# The statements of proctype Claim that the search never reached.
unreached_in_claim() { # pan output
  sed -n '/^unreached in proctype Claim/,/^unreached in proctype [^C]/p' "$1"
}

model_ok=0
model_runs=0
check_model() { # name, what it is, spin switches...
  local name=$1 what=$2
  shift 2
  model_runs=$((model_runs + 1))
  echo "-- model: $what (spin ${*:+$* }-a)"
  if ! verify "$name" "" "$@"; then
    fail "model $name: spin or gcc failed"
    return
  fi
  echo "   $(figures)"
  if [ "$errors" != 0 ]; then
    echo "   counterexample:"
    print_trail "$@"
    fail "model $name: $errors error(s)"
  elif ! complete "$dir/pan.out"; then
    sed -n '/^Warning\|^error\|search for:/,+3p' "$dir/pan.out" | sed 's/^/   /'
    fail "model $name: the search is not complete"
  else
    model_ok=$((model_ok + 1))
    echo "   ok: errors: 0, full state space"
  fi
}

mutants=0
caught=0
first_trail_shown=false
check_mutant() { # name, what it is, expected text of the replayed violation, spin switches...
  local name=$1 what=$2 expected=$3
  shift 3
  mutants=$((mutants + 1))
  echo "-- mutant: $what (spin $* -a)"
  # -DBFS: breadth-first, so the counterexample is a shortest one.
  if ! verify "$name" "-DBFS" "$@"; then
    fail "mutant $name: spin or gcc failed"
    return
  fi
  echo "   $(figures)"
  if [ "$errors" = 0 ]; then
    fail "mutant $name: passes; the model no longer tells it from the protocol"
    return
  fi
  print_trail "$@" >"$dir/steps.out"
  if ! grep -qF -- "$expected" "$dir/trail.out" "$dir/pan.out"; then
    grep -E 'Error|failed assertion' "$dir/trail.out" | cut -c1-200 | sed 's/^/   /'
    fail "mutant $name: fails, but not with: $expected"
    return
  fi
  caught=$((caught + 1))
  echo "   caught: $expected"
  if ! $first_trail_shown; then
    first_trail_shown=true
    echo "   counterexample (a shortest one; spin -t, the model's own steps):"
    cat "$dir/steps.out"
  fi
}

# The Swift test that replays a trail deterministically: its name and its @Test title, or a failure if it is gone.
replayed_by() { # function name
  local title
  title=$( (grep -B3 "func $1(" "$tests" || true) | sed -n 's/.*@Test("\([^"]*\)".*/\1/p' | tail -1)
  if [ -z "$title" ]; then
    fail "the Swift test $1 (which replays this trail) is not in $tests"
    return
  fi
  echo "   replayed deterministically by UserRegistryTests.$1 ($tests):"
  echo "     \"$title\""
}

echo "== model check: $model ($(spin -V | head -1))"

check_model sqlite "SQLite: BEGIN IMMEDIATE, the check inside under the write lock"
if unreached_in_claim "$work/sqlite/pan.out" | grep -q 'error = CONSTRAINT'; then
  echo "   (the UNIQUE index never refuses a write here: the check under the write lock comes first)"
fi
check_model postgres "PostgreSQL at READ COMMITTED: the check inside, not serialised; the index decides" -DPOSTGRES
check_model check-outside "control: the check outside the transaction, the index, the constraint mapped" -DMUTANT_CHECK_OUTSIDE
check_model own-name "SQLite: a user keeps its name while a registration of it is in flight on the same server" -DOWN_NAME
check_model own-name-postgres "PostgreSQL: the same" -DPOSTGRES -DOWN_NAME
for run in postgres check-outside; do
  if [ -f "$work/$run/pan.out" ] && unreached_in_claim "$work/$run/pan.out" | grep -q 'error = CONSTRAINT'; then
    fail "model $run: the UNIQUE index never refuses a write, so the mapping is not exercised"
  fi
done

check_mutant no-unique "the tutorial's validate-then-commit, no UNIQUE index: two holders" \
  "two rows hold one key" -DMUTANT_NO_UNIQUE
replayed_by naiveRaceWithoutIndexDuplicates
echo "     two claims read the name as free, wait at a Gate, then both write: the schedule of the trail above"
check_mutant check-outside-unmapped "the check outside the transaction, the index, the constraint not mapped: a 500" \
  "failed assertion: assert((result!=SERVER_ERROR))" -DMUTANT_CHECK_OUTSIDE -DMUTANT_NO_MAPPING
echo "     the control run above is this protocol with the constraint mapped to \"taken\": it passes"
replayed_by naiveRaceHappens
replayed_by uniqueIndexBackstop
check_mutant postgres-unmapped "PostgreSQL with the constraint not mapped: a 500" \
  "failed assertion: assert((result!=SERVER_ERROR))" -DPOSTGRES -DMUTANT_NO_MAPPING
check_mutant reserve-own-name "a rename reserves the key its user holds: the user is told \"taken\"" \
  "failed assertion: assert(((result!=TAKEN)||(rowKey[row]!=key)))" -DOWN_NAME -DMUTANT_RESERVE_OWN_NAME
replayed_by keepOwnNameDuringRegistration

model=Tests/Model/throttle.pml
echo "== model check: $model"
check_model throttle-postgres "the throttle on PostgreSQL: row locks taken in one order, a savepoint per attempt"
check_model throttle-sqlite "the throttle on SQLite: the transaction under the write lock" -DSQLITE
check_mutant throttle-check-then-record "the old throttle: read the counts, check the password, then record" \
  "failed assertion: assert((checked<=2))" -DMUTANT_CHECK_THEN_RECORD
echo "     replayed deterministically by LoginThrottleTests.checkThenRecordRaceHappens; the admission under the same"
echo "     schedule by LoginThrottleTests.admissionRace and sharedBetweenInstances"
check_mutant throttle-no-rollback "a refused attempt keeps the count its first subject took" \
  "failed assertion: assert(((count[0]==checked)&&(count[1]==checked)))" -DMUTANT_NO_ROLLBACK
check_mutant throttle-unsorted "PostgreSQL, the subjects' rows locked in either order: a deadlock" \
  "invalid end state" -DMUTANT_UNSORTED

if [ ${#failures[@]} -eq 0 ] && [ "$model_ok" -eq "$model_runs" ] && [ "$caught" -eq "$mutants" ]; then
  echo "== model check: model ok in $model_runs configurations, $caught of $mutants mutants caught"
else
  for failure in "${failures[@]}"; do echo "   - $failure"; done
  echo "== model check: FAILED: model ok in $model_ok of $model_runs configurations, $caught of $mutants mutants caught"
  exit 1
fi
