#!/usr/bin/env bash
# Runs CI (.ci/run: npm ci + npm test) on fresh clones of HEAD, RUNS times in a row, while a CPU hog
# keeps one core busy, and counts the failed runs. Before a release the count must be 0.
#
#   scripts/flake-hunt.sh [RUNS]        default 10
#   FLAKE_HOG=0 scripts/flake-hunt.sh   no CPU hog (the machine's own load only)
#   FLAKE_KEEP=1                        keep the clones (default: removed after a passing run)
#
# Each run's output goes to $FLAKE_DIR (default: a new folder under /tmp), run-N.log; a summary
# line per run and a closing count are printed.
set -uo pipefail
cd "$(dirname "$0")/.."

runs="${1:-10}"
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "flake-hunt: RUNS must be a positive integer, got '$runs'" >&2
  exit 2
fi
out="${FLAKE_DIR:-$(mktemp -d /tmp/flake-hunt.XXXXXX)}"
mkdir -p "$out"
head="$(git rev-parse HEAD)"
hog_pid=""

stop_hog() { [[ -n "$hog_pid" ]] && kill "$hog_pid" 2>/dev/null; hog_pid=""; }
trap stop_hog EXIT INT TERM

if [[ "${FLAKE_HOG:-1}" != "0" ]]; then
  # One busy core: a loop that never sleeps, ended when this script ends.
  node -e 'for (;;) {}' &
  hog_pid=$!
fi

echo "flake-hunt: $runs runs of .ci/run on clones of ${head:0:7}; logs in $out; CPU hog: ${hog_pid:-none}"
failed=0
for i in $(seq 1 "$runs"); do
  clone="$out/clone-$i"
  rm -rf "$clone"
  # Every run tests the commit the hunt began on, even if HEAD moves while it runs.
  git clone -q . "$clone" && git -C "$clone" checkout -q "$head"
  began=$(date +%s)
  if (cd "$clone" && CI=true bash .ci/run) >"$out/run-$i.log" 2>&1 </dev/null; then
    result=passed
    [[ "${FLAKE_KEEP:-0}" == "1" ]] || rm -rf "$clone"
  else
    result=FAILED
    failed=$((failed + 1))
  fi
  summary=$(sed 's/\x1b\[[0-9;]*m//g' "$out/run-$i.log" | grep -E "Tests +[0-9]+" | tail -1 | tr -s ' ')
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "run $i/$runs: $result in $(( $(date +%s) - began )) s, load average after it $load —${summary:- no test summary}"
  if [[ $result == FAILED ]]; then
    grep -E "FAIL|Error:" "$out/run-$i.log" | sed 's/\x1b\[[0-9;]*m//g' | head -5 | sed 's/^/    /'
  fi
done
echo "flake-hunt: $((runs - failed)) of $runs runs passed, $failed failed (commit ${head:0:7})"
[[ $failed -eq 0 ]]
