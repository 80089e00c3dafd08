#!/usr/bin/env bash
# False-positive rate of nix-impure-construct on real .nix trees: the .nix
# files of the Go module cache, the project's examples, and (when present)
# the public repositories fetched under /work/.mirror (bare git
# repositories: NixOS/nix, home-manager, nixvim, nixos-hardware, devenv,
# ...). Every finding is listed; bench/lock-impure-verdicts.txt holds the
# reviewed verdict of each (tp or fp, with why), keyed by file and line
# (of the snapshot reviewed: a moved line shows as unreviewed); the script prints findings and false positives per 1,000 files.
#
# Usage: bash bench/lock-impure.sh bin/nixgate [MIRROR_DIR]
set -euo pipefail
bin=$(realpath "${1:?usage: bench/lock-impure.sh NIXGATE_BINARY [MIRROR_DIR]}")
mirrors=${2:-/work/.mirror}
here=$(cd "$(dirname "$0")/.." && pwd)
verdicts=$here/bench/lock-impure-verdicts.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$work/tree
mkdir -p "$tree"

modcache=$(go env GOMODCACHE 2>/dev/null || true)
if [ -n "$modcache" ] && [ -d "$modcache" ]; then
  (cd "$modcache" && find . -name '*.nix' -type f -print0 | while IFS= read -r -d '' f; do
    mkdir -p "$tree/modcache/$(dirname "$f")"; cp "$f" "$tree/modcache/$f"; done)
fi
(cd "$here" && find examples -name '*.nix' -type f -print0 | while IFS= read -r -d '' f; do
  mkdir -p "$tree/$(dirname "$f")"; cp "$f" "$tree/$f"; done)
sources="Go module cache, examples"
if [ -d "$mirrors" ]; then
  for g in "$mirrors"/*/repo; do
    [ -d "$g" ] || continue
    name=$(basename "$(dirname "$g")")
    files=$(git --git-dir="$g" ls-tree -r --name-only HEAD 2>/dev/null | grep '\.nix$' || true)
    [ -n "$files" ] || continue
    mkdir -p "$tree/$name"
    git --git-dir="$g" archive HEAD $(echo "$files" | tr '\n' ' ') 2>/dev/null | tar -x -C "$tree/$name" 2>/dev/null || true
    sources="$sources, $name"
  done
fi
git -C "$tree" init -q -b main
git -C "$tree" add -A
git -C "$tree" -c gc.auto=0 -c maintenance.auto=false -c user.name=bench -c user.email=bench@example.org -c commit.gpgsign=false commit -q -m tree
nfiles=$(git -C "$tree" ls-files '*.nix' | grep -vc '/flake\.nix$\|^flake\.nix$' || true)
echo "sources: $sources"
echo "files scanned: $nfiles .nix (flake.nix files are skipped by the check)"
start=$(date +%s%N)
"$bin" check --only nix-impure-construct --fail-on critical --format json "$tree" >"$work/out.json" || true
end=$(date +%s%N)
python3 - "$work/out.json" "$verdicts" "$nfiles" "$tree" "$(( (end - start) / 1000000 ))" <<'PY'
import json, sys, collections
out, vfile, nfiles, tree, ms = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
r = json.load(open(out))
fs = [f for f in r.get("findings", []) if f.get("checkId") == "nix-impure-construct"]
verd = {}
try:
    for line in open(vfile):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        v, key, why = line.split("\t", 2)
        verd[key] = (v, why)
except FileNotFoundError:
    pass
kinds = collections.Counter()
tp = fp = unreviewed = lexerr = 0
for f in fs:
    loc = f["location"]
    key = "%s:%s" % (loc["path"], loc.get("line", 0))
    msg = f["message"]
    if "cannot be scanned" in msg:
        lexerr += 1
    v = verd.get(key, ("?", ""))[0]
    tp += v == "tp"; fp += v == "fp"; unreviewed += v == "?"
    kinds[msg.split(" ")[0]] += 1
    print("  %s %s:%s %s" % (v, loc["path"], loc.get("line", ""), msg[:140]))
per = lambda n: 1000.0 * n / max(nfiles, 1)
print("by construct: " + ", ".join("%s %d" % kv for kv in kinds.most_common()))
print("findings: %d (%.2f per 1,000 files); reviewed true %d, false %d, unreviewed %d; lexer errors %d" % (len(fs), per(len(fs)), tp, fp, unreviewed, lexerr))
print("false-positive rate: %.2f per 1,000 files (target <= 0.12); %s ms for the scan" % (per(fp), ms))
PY
