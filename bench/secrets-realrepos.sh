#!/usr/bin/env bash
# Findings per 1,000 files of nixgate's secret checks with the default
# policy, on real trees: this project's modules in the Go module cache
# (go list -m all) and public Nix flake repositories (the mirrors of this
# machine, or SECRETS_REAL_REPOS: paths to git repositories). Counts all
# findings, and those that fail the default gate (high and critical), by
# severity; a low or info finding is a test fixture, a checksum-invalid
# token or a well-known public test key.
#
#   bash bench/secrets-realrepos.sh bin/nixgate
set -euo pipefail
NIXGATE=$(realpath "${1:?usage: bench/secrets-realrepos.sh NIXGATE}")
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

trees=()
mkdir -p "$work/modules"
for d in $(go list -m -f '{{.Dir}}' all | grep -v "^$PWD\$" | grep -v '^$'); do cp -r "$d" "$work/modules/"; done
chmod -R u+w "$work/modules"
trees+=("go-modules=$work/modules")
repos=()
if [ -n "${SECRETS_REAL_REPOS:-}" ]; then
  read -r -a repos <<<"$SECRETS_REAL_REPOS"
else
  for m in cachix+devenv nix-community+home-manager nix-community+infra nix-community+lanzaboote Mic92+sops-nix ryantm+agenix; do
    [ -d "/work/.mirror/$m/repo" ] && repos+=("/work/.mirror/$m/repo")
  done
fi
for r in "${repos[@]}"; do
  name=$(basename "$(dirname "$r")" | tr + /)
  [ "$name" = . ] && name=$(basename "$r")
  dir="$work/$(echo "$name" | tr / +)"
  mkdir -p "$dir"
  git --git-dir="$r" archive HEAD 2>/dev/null | tar -x -C "$dir" || git -C "$r" archive HEAD | tar -x -C "$dir"
  trees+=("$name=$dir")
done

echo "## secrets: findings per 1,000 files, default policy (secrets scan --all)"
echo
echo "| tree | files | findings | per 1,000 files | at or above high (fail the gate) | by severity |"
echo "|---|---|---|---|---|---|"
for t in "${trees[@]}"; do
  name=${t%%=*} dir=${t#*=}
  files=$(find "$dir" -type f | wc -l)
  "$NIXGATE" secrets scan --all -f json -o "$work/out.json" "$dir" 2>/dev/null || true
  python3 - "$work/out.json" "$name" "$files" <<'EOF'
import json, sys, collections
d = json.load(open(sys.argv[1]))
f = d.get("findings") or []
n = int(sys.argv[3])
sev = collections.Counter(x["severity"] for x in f)
high = sev["high"] + sev["critical"]
by = ", ".join("%d %s" % (sev[s], s) for s in ["critical", "high", "medium", "low", "info"] if sev[s])
print("| %s | %d | %d | %.2f | %d (%.2f per 1,000) | %s |" % (sys.argv[2], n, len(f), 1000.0 * len(f) / max(n, 1), high, 1000.0 * high / max(n, 1), by or "–"))
EOF
done
