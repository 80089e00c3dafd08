#!/usr/bin/env bash
# make fuzz: runs every Fuzz* target of the module for FUZZTIME each
# (default 60s), FUZZJOBS targets at a time (default: one per two CPUs, at
# least one), each fuzzer on one worker. A target that finds a failure
# keeps its input in its package's testdata/fuzz (go test's own place, so
# the crasher becomes a regression case) and fails the run; the summary
# lists every target with its outcome.
set -uo pipefail
t=${1:-60s}
jobs=${FUZZJOBS:-$(( $(nproc) / 2 ))}
[ "$jobs" -ge 1 ] || jobs=1
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
targets=()
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //' | sort -u); do
    targets+=("$pkg $f")
  done
done
echo "fuzz: ${#targets[@]} targets, $t each, $jobs at a time" >&2
run() {
  local pkg=$1 f=$2 out
  out="$log/$(echo "$pkg.$f" | tr '/' '_')"
  if go test -run='^$' -fuzz="^$f\$" -fuzztime="$t" -fuzzminimizetime=10s -parallel=1 "$pkg" >"$out" 2>&1; then
    echo "ok    $pkg $f $(grep -o 'execs: [0-9]*' "$out" | tail -1)"
  else
    echo "FAIL  $pkg $f"
    sed 's/^/      /' "$out" | tail -25
  fi
}
export -f run
export t log
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -L 1 bash -c 'run "$0" "$1"' | tee "$log/summary"
! grep -q '^FAIL' "$log/summary"
