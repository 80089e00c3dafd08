#!/usr/bin/env bash
# Dependency pinning gate and lock delta: whole-process time of
# `nixgate lock diff` and of `nixgate check --only 'lock-*'` on the largest
# flake.lock files of the corpus, next to DeterminateSystems' flake-checker on
# the same lock when it is installed (it is not packaged for Debian and its
# release binaries are not reachable here: the script says so and reports
# nixgate's figures alone).
#
# Usage: bash bench/lock.sh bin/nixgate
set -euo pipefail
bin=$(realpath "${1:?usage: bench/lock.sh NIXGATE_BINARY}")
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=$here/internal/flakelock/testdata/corpus
big_old=$corpus/hasundue__dotnix__2f6084041b.lock   # 52 nodes
big_new=$corpus/hasundue__dotnix__1714d3cce2.lock   # 72 nodes, the largest
mid_old=$corpus/nix-community__infra__f6aa26650c.lock
mid_new=$corpus/nix-community__infra__3ba9c7dbb9.lock

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A repository holding the 72-node lock, for `nixgate check`.
repo=$work/repo
mkdir -p "$repo"
cp "$big_new" "$repo/flake.lock"
printf '{\n  outputs = _: { };\n}\n' >"$repo/flake.nix"
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name=bench -c user.email=bench@example.org -c commit.gpgsign=false commit -q -m lock

peer=""
if command -v flake-checker >/dev/null 2>&1; then
  peer=flake-checker
else
  echo "peer: flake-checker is not installed (not in Debian; its binaries come from GitHub releases or FlakeHub, unreachable here): nixgate figures only"
fi

ms() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) * 1000))' "$1"; }

cases=(
  "lock diff 52->72 nodes|$bin lock diff --fail-on never $big_old $big_new"
  "lock diff 20->24 nodes (json)|$bin lock diff --fail-on never --format json $mid_old $mid_new"
  "check --only lock-* (72 nodes)|$bin check --only lock-* --fail-on critical $repo"
)
if [ -n "$peer" ]; then
  cases+=("flake-checker (72 nodes)|$peer --no-telemetry $big_new")
fi

if command -v hyperfine >/dev/null 2>&1; then
  means=()
  for c in "${cases[@]}"; do
    name=${c%%|*}
    cmd=${c#*|}
    json=$(mktemp)
    hyperfine -N -i --warmup 5 --runs 50 --export-json "$json" "$cmd" >/dev/null 2>&1
    read -r mean median min < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["mean"], r["median"], r["min"])' "$json")
    rm -f "$json"
    echo "$name: mean $(ms "$mean") ms, median $(ms "$median") ms, min $(ms "$min") ms"
    means+=("$mean")
  done
  if [ -n "$peer" ]; then
    echo "ratio flake-checker / nixgate check --only lock-*: $(python3 -c 'import sys; print("%.2fx" % (float(sys.argv[1]) / float(sys.argv[2])))' "${means[3]}" "${means[2]}")"
  fi
else
  echo "hyperfine not installed: timing 50 runs with bash"
  for c in "${cases[@]}"; do
    name=${c%%|*}
    cmd=${c#*|}
    start=$(date +%s%N)
    for _ in $(seq 50); do $cmd >/dev/null 2>&1 || true; done
    end=$(date +%s%N)
    echo "$name: $(( (end - start) / 50000 )) us per run"
  done
fi

# In-process figures (no process start-up): parse a 72-node lock, and parse
# two locks plus diff them.
(cd "$here" && go test ./internal/lockdiff -run '^$' -bench 'Parse72|Diff52to72' -benchtime 200x 2>/dev/null |
  awk '/^Benchmark/ { printf "%s: %.2f ms/op\n", $1, $3 / 1e6 }')
