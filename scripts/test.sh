#!/usr/bin/env bash
# The whole test suite: set-up, unit tests (no root), integration tests (root,
# real kernel and real peers), the pure cgroup v2 lane in a VM, and a leak check.
# Ends with one line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "setup failed"; exit 1; }

results=$(mktemp -d /tmp/carton-test-results.XXXXXX)
trap 'rm -rf "$results"' EXIT
status=0
bash scripts/leaks.sh --save "$results/leaks-before"
run_lane() { # name, then node --test arguments
  local name=$1; shift
  echo "=== $name"
  node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$results/$name.tap" "$@" || status=1
}

export NODE_OPTIONS="${NODE_OPTIONS:-} --unhandled-rejections=strict"
run_lane unit $(find dist/src -name '*.test.js' | sort)
run_lane integration --test-concurrency=1 $(find dist/test -name '*.test.js' -not -path '*/v2vm/*' | sort)

if [ "${CARTON_SKIP_V2VM:-}" != 1 ] && [ -x scripts/v2vm/run.sh ]; then
  echo "=== cgroup v2 VM lane"
  bash scripts/v2vm/run.sh --tap "$results/v2vm.tap" || status=1
fi

echo "=== leak check"
if ! bash scripts/leaks.sh --since "$results/leaks-before"; then status=1; fi

pass=0; fail=0; skip=0
for f in "$results"/*.tap; do
  [ -f "$f" ] || continue
  p=$(grep -E '^# pass ' "$f" | tail -1 | awk '{print $3}'); pass=$((pass + ${p:-0}))
  x=$(grep -E '^# fail ' "$f" | tail -1 | awk '{print $3}'); fail=$((fail + ${x:-0}))
  s=$(grep -E '^# skipped ' "$f" | tail -1 | awk '{print $3}'); skip=$((skip + ${s:-0}))
done
[ "$fail" -gt 0 ] && status=1
echo "$pass passed, $fail failed, $skip skipped"
exit $status
