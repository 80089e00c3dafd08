#!/usr/bin/env bash
# bench/realrepos.sh NIXGATE — the built-in policy on public Nix
# repositories, as a new user meets it: `nixgate check` with no nixgate.toml
# on a fresh clone of each repository in bench/realrepos.list (at the commit
# listed there). Prints per repository the exit code, the wall time, the
# failing findings (at or above fail-on, one line per finding: severity,
# check, first location, message, and how many places share it) and, for all
# repositories together, findings per 1,000 files per check.
#
# The repositories come from local bare mirrors (MIRROR, default
# /work/.mirror, laid out as <owner>+<name>/repo, as the `fetch` tool leaves
# them); a repository without a mirror is listed as skipped. KEEP=DIR keeps
# the JSON reports in DIR. The verdicts for each failing finding are in
# docs/real-repos.md.
set -euo pipefail
bin=$(cd "$(dirname "${1:?usage: bench/realrepos.sh path/to/nixgate}")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")/.." && pwd)
list=${LIST:-$here/bench/realrepos.list}
mirror=${MIRROR:-/work/.mirror}
command -v jq >/dev/null || { echo "realrepos: jq is missing (scripts/deps.sh bench installs it)"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=${KEEP:-$tmp/reports}
mkdir -p "$out"
rank='def rank: . as $s | ["info","low","medium","high","critical"] | index($s);'
total_files=0 repos=0 failing_repos=0 failing_total=0
: >"$tmp/per-check"
while read -r name commit; do
  case $name in '' | '#'*) continue ;; esac
  src=$mirror/${name/\//+}/repo
  if ! git --git-dir="$src" cat-file -e "$commit^{commit}" 2>/dev/null; then
    echo "== $name: skipped (no mirror with $commit under $mirror)"
    continue
  fi
  dir=$tmp/src/${name/\//+}
  git clone -q --no-checkout "$src" "$dir" 2>/dev/null
  git -C "$dir" -c advice.detachedHead=false checkout -q "$commit"
  files=$(git -C "$dir" ls-files | wc -l)
  start=$(date +%s%N)
  code=0
  (cd "$dir" && "$bin" check --format json >"$out/${name/\//+}.json" 2>"$tmp/stderr") || code=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  rep=$out/${name/\//+}.json
  fail=$(jq --arg f "$(jq -r .failOn "$rep")" "$rank"'[.findings[] | select((.severity | rank) >= ($f | rank))] | length' "$rep")
  echo "== $name @ ${commit:0:12}: exit $code, $files files, $ms ms, $(jq '.findings | length' "$rep") findings, $fail failing"
  if [ -s "$tmp/stderr" ]; then sed 's/^/   stderr: /' "$tmp/stderr" | head -5; fi
  # Failing findings, one per fact: the same check, severity and message in
  # several places is one line with its count.
  jq -r --arg f "$(jq -r .failOn "$rep")" '
    '"$rank"'
    [.findings[] | select((.severity | rank) >= ($f | rank))]
    | group_by([.checkId, .severity, .message])
    | sort_by(-(.[0].severity | rank), .[0].checkId, .[0].location.path)
    | .[] | "   \(.[0].severity | ascii_upcase) \(.[0].checkId) \(.[0].location.path // "(repository)")\(if .[0].location.line then ":\(.[0].location.line)" else "" end)\(if length > 1 then " (+\(length - 1) more places)" else "" end): \(.[0].message)"' "$rep" | cut -c1-300
  jq -r --arg r "$name" '.findings[] | "\(.checkId)\t\(.severity)\t\($r)\t\(.message)"' "$rep" >>"$tmp/per-check"
  total_files=$((total_files + files))
  repos=$((repos + 1))
  [ "$fail" -gt 0 ] && failing_repos=$((failing_repos + 1))
  failing_total=$((failing_total + fail))
done <"$list"
echo
echo "== $repos repositories, $total_files files; $failing_repos fail the default gate; $failing_total failing findings"
echo "findings per 1,000 files, per check and severity (all repositories together; distinct: one fact"
echo "in many places of one repository counts once, as the report shows it):"
printf '  %-26s %-8s %8s %9s %12s\n' check severity findings distinct "per 1k files"
awk -F'\t' -v n="$total_files" '{k = $1 "\t" $2; c[k]++; if (!seen[$0]++) d[k]++}
  END {for (k in c) {split(k, a, "\t"); printf "  %-26s %-8s %8d %9d %12.2f\n", a[1], a[2], c[k], d[k], c[k] * 1000 / n}}' "$tmp/per-check" | sort
