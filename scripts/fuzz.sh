#!/usr/bin/env bash
# Runs every Fuzz* target for the given time each.
set -euo pipefail
t=${1:-60s}
# Go minimises every new interesting input for up to 60 s by default, and
# reports 0 executions a second meanwhile: bound it so that the time goes
# to fuzzing (FUZZMINIMIZE=60s restores the default).
m=${FUZZMINIMIZE:-200x}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //'); do
    echo "== $pkg $f"
    go test -run='^$' -fuzz="^$f\$" -fuzztime="$t" -fuzzminimizetime="$m" "$pkg"
  done
done
