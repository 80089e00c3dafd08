#!/usr/bin/env bash
# History scans against `gitleaks git` (v8.30.1), on the same ranges in the
# same run: the last 100 and the last 2,000 first-parent commits (with the
# commits merged into them) and the whole history. nixgate runs
# `secrets scan --since REV` (the change view, both secret checks) and
# `secrets scan --history`; gitleaks runs `git --log-opts=REV..HEAD` and
# `--log-opts=HEAD`. Wall time, CPU time (user + system, git included) and
# peak RSS come from /usr/bin/time -v.
#
# Repositories: SECRETS_HISTORY_REPOS (paths to git repositories, space
# separated); by default the public Nix repositories mirrored on this
# machine (cachix/devenv, nix-community/home-manager) when present, and
# always a generated history of 3,000 commits (bench/secretsamples history).
#
#   bash bench/secrets-history.sh bin/nixgate
set -euo pipefail
NIXGATE=$(realpath "${1:?usage: bench/secrets-history.sh NIXGATE}")
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gitleaks=$(command -v gitleaks || true)
[ -z "$gitleaks" ] && [ -x "$(go env GOPATH)/bin/gitleaks" ] && gitleaks="$(go env GOPATH)/bin/gitleaks"

repos=()
if [ -n "${SECRETS_HISTORY_REPOS:-}" ]; then
  read -r -a repos <<<"$SECRETS_HISTORY_REPOS"
else
  for m in cachix+devenv nix-community+home-manager; do
    [ -d "/work/.mirror/$m/repo" ] && repos+=("/work/.mirror/$m/repo")
  done
fi
echo "generating a history of 3000 commits..." >&2
go run ./bench/secretsamples history -o "$work/generated" -commits 3000 >&2
git -C "$work/generated" gc -q
repos+=("$work/generated")

# measure NAME CMD... : prints "wall cpu peak-KB"
measure() {
  local name=$1; shift
  /usr/bin/time -v -o "$work/$name.time" "$@" >/dev/null 2>"$work/$name.err" || true
  awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; t=s}
              /User time/{u=$2} /System time/{y=$2}
              /Maximum resident set size/{m=$2} END{printf "%.2f %.2f %d\n", t, u+y, m}' "$work/$name.time"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.1f×", a/b; else print "n/a" }'; }

echo "## secrets: history scans, nixgate vs gitleaks git ($(nproc) CPU, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| repository | range | commits | nixgate wall / CPU / RSS | gitleaks wall / CPU / RSS | ratio wall | ratio CPU | findings (nixgate / gitleaks) |"
echo "|---|---|---|---|---|---|---|---|"
for src in "${repos[@]}"; do
  name=$(basename "$(dirname "$src")")
  [ "$src" = "$work/generated" ] && name=generated
  dir="$work/clone-$name"
  rm -rf "$dir"
  if [ "$src" != "$work/generated" ]; then
    git clone -q --single-branch "$src" "$dir"
  else
    dir=$src
  fi
  for range in 100 2000 all; do
    if [ "$range" = all ]; then
      ng=(secrets scan --history); glopts=HEAD; label="whole history"
      commits=$(git -C "$dir" rev-list --count HEAD)
    else
      rev=$(git -C "$dir" rev-list --first-parent HEAD | sed -n "${range}p")
      [ -z "$rev" ] && continue
      ng=(secrets scan --since "$rev"); glopts="$rev..HEAD"; label="last $range first-parent"
      commits=$(git -C "$dir" rev-list --count "$rev..HEAD")
    fi
    read -r nw nc nm < <(cd "$dir" && measure "ng-$name-$range" "$NIXGATE" "${ng[@]}" -f json -o "$work/ng-$name-$range.json" .)
    nf=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$work/ng-$name-$range.json" 2>/dev/null || echo "?")
    if [ -n "$gitleaks" ]; then
      read -r gw gc gm < <(cd "$dir" && measure "gl-$name-$range" "$gitleaks" git --no-banner --exit-code 0 -l error --log-opts="$glopts" -f json -r "$work/gl-$name-$range.json" .)
      gf=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/gl-$name-$range.json" 2>/dev/null || echo "?")
      echo "| $name | $label | $commits | ${nw} s / ${nc} s / $((nm / 1024)) MB | ${gw} s / ${gc} s / $((gm / 1024)) MB | $(ratio "$gw" "$nw") | $(ratio "$gc" "$nc") | $nf / $gf |"
    else
      echo "| $name | $label | $commits | ${nw} s / ${nc} s / $((nm / 1024)) MB | gitleaks NOT INSTALLED | | | $nf / – |"
    fi
  done
done
