#!/usr/bin/env bash
# History scans against `gitleaks git` (v8.30.1), on the same ranges in the
# same run: the last 100 and the last 2,000 first-parent commits (with the
# commits merged into them) and the whole history. nixgate runs
# `secrets scan --since REV` (the change view, both secret checks) and
# `secrets scan --history`; gitleaks runs `git --log-opts=REV..HEAD` and
# `--log-opts=HEAD`. The two run in turn (bench/lib/interleave.py): median
# wall and CPU time (user + system, git included), largest peak RSS.
#
# Repositories: SECRETS_HISTORY_REPOS (paths to git repositories, space
# separated); by default the public Nix repositories mirrored on this
# machine (cachix/devenv, nix-community/home-manager) when present, and
# always a generated history of 3,000 commits (bench/secretsamples history),
# packed as a clone has it and in the layout git fast-import leaves.
#
#   bash bench/secrets-history.sh bin/nixgate
set -euo pipefail
NIXGATE=$(realpath "${1:?usage: bench/secrets-history.sh NIXGATE}")
cd "$(dirname "$0")/.."
here=$PWD
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
# Two layouts of the same history. fast-import deltifies a blob only
# against the blob written just before it, almost always another file, so
# after `git gc` (which keeps existing deltas) 97 of its 7,408 blobs are
# deltas and every version of the 176 KB reference file is stored whole.
# No clone looks like that: a server packs with a delta search, which
# `git repack -adf` does here (6,924 deltas). Both are scanned.
git -C "$work/generated" gc -q
cp -a "$work/generated" "$work/repacked"
git -C "$work/repacked" repack -adfq
repos+=("$work/repacked" "$work/generated")

# secs S: seconds as milliseconds below one second, else seconds.
secs() { awk -v s="$1" 'BEGIN{ if (s < 1) printf "%.1f ms", s*1000; else printf "%.2f s", s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f×", a/b; else print "n/a" }'; }
# target W1 C1 W2 C2: whether the first tool is 3x faster by both wall and CPU.
target() { awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN{ print (a > 0 && b > 0 && c >= 3*a && d >= 3*b) ? "met" : "NOT MET" }'; }

echo "## secrets: history scans, nixgate vs gitleaks git ($(nproc) CPU, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| repository | range | commits | nixgate wall / CPU / RSS | gitleaks wall / CPU / RSS | ratio wall | ratio CPU | ≥ 3× both | findings (nixgate / gitleaks) |"
echo "|---|---|---|---|---|---|---|---|---|"
for src in "${repos[@]}"; do
  name=$(basename "$(dirname "$src")")
  name=${name/+//} # a mirror's owner+name
  dir="$work/clone-$name"
  case "$src" in
  "$work/repacked") name="generated, repacked"; dir=$src ;;
  "$work/generated") name="generated, fast-import layout"; dir=$src ;;
  *) rm -rf "$dir"; git clone -q --single-branch "$src" "$dir" ;;
  esac
  slug=${name//[^A-Za-z0-9]/-}
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
    ngcmd=("$NIXGATE" "${ng[@]}" -f json -o "$work/ng-$slug-$range.json" .)
    glcmd=("$gitleaks" git --no-banner --exit-code 0 -l error --log-opts="$glopts" -f json -r "$work/gl-$slug-$range.json" .)
    if [ -z "$gitleaks" ]; then glcmd=(); fi
    # Short ranges take tens of milliseconds: the median of 11 rounds after
    # a warm-up round (the clone is fresh); long ones the median of 3.
    rounds=3 warmup=0
    [ "$range" = 100 ] && rounds=11 warmup=1
    mapfile -t res < <(cd "$dir" && python3 "$here/bench/lib/interleave.py" "$rounds" "$warmup" -- "${ngcmd[@]}" ${glcmd[@]:+--} "${glcmd[@]}")
    read -r nw nc nm <<<"${res[0]}"
    nf=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$work/ng-$slug-$range.json" 2>/dev/null || echo "?")
    if [ -n "$gitleaks" ]; then
      read -r gw gc gm <<<"${res[1]}"
      gf=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/gl-$slug-$range.json" 2>/dev/null || echo "?")
      echo "| $name | $label | $commits | $(secs "$nw") / $(secs "$nc") / $((nm / 1024)) MB | $(secs "$gw") / $(secs "$gc") / $((gm / 1024)) MB | $(ratio "$gw" "$nw") | $(ratio "$gc" "$nc") | $(target "$nw" "$nc" "$gw" "$gc") | $nf / $gf |"
    else
      echo "| $name | $label | $commits | $(secs "$nw") / $(secs "$nc") / $((nm / 1024)) MB | gitleaks NOT INSTALLED | | | | $nf / – |"
    fi
  done
done
