#!/usr/bin/env bash
# Installs what berth needs, builds everything, and runs every test: the unit
# tests under Bazel, then the end-to-end suite against a private engine.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --reference || exit 1
scripts/build.sh || exit 1

unit_log=$(mktemp)
bazel test //... 2>&1 | tee "$unit_log"
unit_rc=${PIPESTATUS[0]}
unit_passed=$(grep -cE '^//.* (\(cached\) )?PASSED' "$unit_log")
unit_failed=$(grep -cE '^//.* (FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' "$unit_log")
rm -f "$unit_log"
if ((unit_rc != 0 && unit_failed == 0)); then unit_failed=1; fi

e2e_log=$(mktemp)
tests/e2e/run.sh 2>&1 | tee "$e2e_log"
e2e_rc=${PIPESTATUS[0]}
e2e_line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed$' "$e2e_log" | tail -1)
rm -f "$e2e_log"
e2e_passed=$(echo "$e2e_line" | awk '{print $2}')
e2e_failed=$(echo "$e2e_line" | awk '{print $4}')
: "${e2e_passed:=0}" "${e2e_failed:=1}"
if ((e2e_rc != 0 && e2e_failed == 0)); then e2e_failed=1; fi

echo
echo "unit test targets: $unit_passed passed, $unit_failed failed"
echo "end-to-end checks: $e2e_passed passed, $e2e_failed failed"
echo "total: $((unit_passed + e2e_passed)) passed, $((unit_failed + e2e_failed)) failed"
((unit_failed == 0 && e2e_failed == 0))
