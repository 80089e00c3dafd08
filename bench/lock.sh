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

# Hostile locks: a 10,000-deep chain (each node also following the first),
# 10,000 and 100,000 flat inputs, a 10,000-node mesh; CPU seconds and peak
# memory of `lock diff` (old = the lock with its last rev changed) and of
# `check --only lock-*` on a repository holding it. Limits (issue 13): a
# 10,000-node lock under 2 s and 256 MB in both.
if [ ! -x /usr/bin/time ]; then
  echo "hostile locks: /usr/bin/time (Debian package time) is not installed: skipped"
  skip_hostile=1
fi
[ -z "${skip_hostile:-}" ] && python3 - "$work" <<'PY'
import sys, json
work = sys.argv[1]
rev1, rev2 = "0" * 39 + "1", "0" * 39 + "2"
def gh(key, inputs, rev):
    return {"inputs": inputs, "locked": {"type": "github", "owner": "o", "repo": key, "rev": rev},
            "original": {"type": "github", "owner": "o", "repo": key}}
def write(name, nodes, root_inputs):
    nodes["root"] = {"inputs": root_inputs}
    json.dump({"nodes": nodes, "root": "root", "version": 7}, open(f"{work}/{name}", "w"))
for last, name in ((rev1, "deep-a.lock"), (rev2, "deep-b.lock")):
    nodes = {}
    for i in range(10000):
        ins = {"next": f"n{i+1}", "top": ["n0"]} if i + 1 < 10000 else {}
        nodes[f"n{i}"] = gh(f"n{i}", ins, last if i == 9999 else rev1)
    write(name, nodes, {"n0": "n0"})
for n in (10000, 100000):
    for rev, suffix in ((rev1, "a"), (rev2, "b")):
        nodes = {f"i{i}": {"locked": {"type": "path", "path": f"./i{i}"}, "original": {"type": "path", "path": f"./i{i}"}} for i in range(n)}
        nodes["i0"] = gh("i0", {}, rev)
        write(f"wide{n}-{suffix}.lock", nodes, {f"i{i}": f"i{i}" for i in range(n)})
for rev, suffix in ((rev1, "a"), (rev2, "b")):
    nodes = {}
    for i in range(10000):
        nodes[f"m{i}"] = gh(f"m{i}", {f"m{j}": f"m{j}" for j in range(i + 1, min(10000, i + 9))}, rev if i == 9999 else rev1)
    write(f"mesh-{suffix}.lock", nodes, {"m0": "m0"})
PY
for h in $([ -z "${skip_hostile:-}" ] && echo deep wide10000 wide100000 mesh); do
  size=$(stat -c %s "$work/$h-a.lock")
  /usr/bin/time -o "$work/t" -f '%U %S %M' "$bin" lock diff --fail-on never "$work/$h-a.lock" "$work/$h-b.lock" >/dev/null || true
  d=$(tail -1 "$work/t")
  hr=$work/repo-$h
  mkdir -p "$hr"
  cp "$work/$h-b.lock" "$hr/flake.lock"
  printf '{\n  inputs.x.url = "github:o/x";\n  outputs = _: { };\n}\n' >"$hr/flake.nix"
  git -C "$hr" init -q -b main && git -C "$hr" add -A && git -C "$hr" -c user.name=bench -c user.email=bench@example.org -c commit.gpgsign=false commit -q -m lock
  /usr/bin/time -o "$work/t" -f '%U %S %M' "$bin" check --only 'lock-*' --fail-on critical "$hr" >/dev/null || true
  c=$(tail -1 "$work/t")
  python3 - "$h" "$size" "$d" "$c" <<'PY'
import sys
h, size, d, c = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
f = lambda x: "%.2f s CPU, %.0f MB peak" % (float(x[0]) + float(x[1]), int(x[2]) / 1024)
print("hostile %s (%.1f MB): lock diff %s; check --only lock-* %s" % (h, size / 1e6, f(d), f(c)))
PY
done
# A one-line 300 MB lock: refused by the lock size limit before it is read.
[ -z "${skip_hostile:-}" ] && truncate -s 300M "$work/huge.lock" && {
/usr/bin/time -o "$work/t" -f '%U %S %M' "$bin" lock diff "$work/huge.lock" "$work/huge.lock" >/dev/null 2>&1 || true
h=$(tail -1 "$work/t")
python3 -c 'import sys; x=sys.argv[1].split(); print("300 MB one-line lock: refused, %.2f s CPU, %.0f MB peak" % (float(x[0])+float(x[1]), int(x[2])/1024))' "$h"
}

# In-process figures (no process start-up): parse a 72-node lock, and parse
# two locks plus diff them.
(cd "$here" && go test ./internal/lockdiff -run '^$' -bench 'Parse72|Diff52to72' -benchtime 200x 2>/dev/null |
  awk '/^Benchmark/ { printf "%s: %.2f ms/op\n", $1, $3 / 1e6 }')
