#!/usr/bin/env bash
# nixgate ci: whole-process time of the static gates (check, pr, lock,
# kconfig) in one run against the same gates run as separate nixgate
# commands, on a repository the size of the Go module cache's largest
# module, and on examples/anchor (the target: under a second).
#
#   bash bench/ci.sh bin/nixgate [RUNS]
#
# The large repository is the largest module directory in `go env
# GOMODCACHE` (by bytes; the script prints which), copied into a git
# repository with examples/anchor's flake.lock and kernel configuration and
# a policy whose [ci] table gates them, then a change commit that edits 20
# files and the lock (so pr and lock diff have a change to judge). Both
# sides read the same files; the separate commands are
#   nixgate check REPO; nixgate pr --base BASE REPO;
#   nixgate lock diff -C REPO --git BASE..HEAD flake.lock;
#   nixgate kconfig REPO/kernel/hardened.config --profile anchor
# and the single run is
#   nixgate ci REPO --base BASE --only static
# The ratio is ci / separate: 1.0 or less meets the target.
set -euo pipefail
bin=$(realpath "${1:?usage: bench/ci.sh NIXGATE_BINARY [RUNS]}")
runs=${2:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
command -v hyperfine >/dev/null || { echo "hyperfine is missing (scripts/deps.sh bench installs it)" >&2; exit 1; }
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export GIT_CONFIG_GLOBAL=$work/gitconfig GIT_CONFIG_NOSYSTEM=1 GITHUB_ACTIONS= GITLAB_CI=
: >"$GIT_CONFIG_GLOBAL"
git_() { git -c gc.auto=0 -c maintenance.auto=false -c user.name=bench -c user.email=bench@example.org -c commit.gpgsign=false "$@"; }
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"

# 1. examples/anchor, the static gates alone (the built-in policy).
anchor=$work/anchor
cp -a "$here/examples/anchor" "$anchor"
git_ -C "$anchor" init -q -b main && git_ -C "$anchor" add -A && git_ -C "$anchor" commit -q -m anchor
json=$work/anchor.json
hyperfine -N -i --warmup 3 --runs 20 --export-json "$json" "$bin ci $anchor --only static --format json" >/dev/null 2>&1
read -r mean max < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f %.1f" % (r["mean"]*1000, r["max"]*1000))' "$json")
echo "examples/anchor: nixgate ci --only static, whole process: mean ${mean} ms, max ${max} ms (target: under 1000 ms)"

# 2. The largest module of the module cache as a repository.
modcache=$(go env GOMODCACHE)
largest=$(du -s "$modcache"/*/*@* "$modcache"/*/*/*@* 2>/dev/null | sort -n | tail -1 | cut -f2)
repo=$work/big
cp -r "$largest" "$repo"
chmod -R u+w "$repo"
files=$(find "$repo" -type f | wc -l)
size=$(du -sh "$repo" | cut -f1)
echo "large repository: ${largest#"$modcache"/} ($files files, $size)"
mkdir -p "$repo/kernel"
cp "$here/examples/anchor/flake.lock" "$repo/flake.lock"
cp "$here/examples/anchor/kernel/hardened.config" "$repo/kernel/hardened.config"
cat >"$repo/nixgate.toml" <<'EOF'
version = 1
[ci]
required-paths = ["flake.lock", "kernel/hardened.config"]
[ci.kconfig]
configs = ["kernel/hardened.config"]
profiles = ["anchor"]
EOF
git_ -C "$repo" init -q -b main && git_ -C "$repo" add -A && git_ -C "$repo" commit -q -m base
base=$(git -C "$repo" rev-parse HEAD)
git_ -C "$repo" checkout -q -b change
for f in $(git -C "$repo" ls-files '*.go' | sed -n 1,20p); do echo "// changed" >>"$repo/$f"; done
sed -i 's/"lastModified": 1638122382/"lastModified": 1638122999/' "$repo/flake.lock"
git_ -C "$repo" commit -q -am change

separate="$bin check $repo >/dev/null; $bin pr --base $base $repo >/dev/null; $bin lock diff -C $repo --git $base..HEAD flake.lock >/dev/null; $bin kconfig $repo/kernel/hardened.config --profile anchor >/dev/null; true"
single="$bin ci $repo --base $base --only static --format json >/dev/null; true"
json=$work/big.json
hyperfine --shell=bash -i --warmup 1 --runs "$runs" --export-json "$json" -n separate "$separate" -n ci "$single" >/dev/null 2>&1
python3 - "$json" <<'EOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
s, c = r["separate"], r["ci"]
cpu = lambda r: r["user"] + r["system"]
print("separate commands: wall mean %.2f s, min %.2f s; cpu (user+sys) %.2f s" % (s["mean"], s["min"], cpu(s)))
print("nixgate ci:        wall mean %.2f s, min %.2f s; cpu (user+sys) %.2f s" % (c["mean"], c["min"], cpu(c)))
print("ratio ci / separate: wall mean %.2f, wall min %.2f, cpu %.2f (target: 1.0 or less)" % (c["mean"] / s["mean"], c["min"] / s["min"], cpu(c) / cpu(s)))
EOF
# The same gates, the same verdicts: ci ran check, pr, lock and kconfig.
# (the gate fails on the planted findings: exit 1 is the expected verdict)
{ "$bin" ci "$repo" --base "$base" --only static --format text 2>/dev/null || true; } | sed -n '/^nixgate ci:/,$p'
