#!/usr/bin/env bash
# Secret scanning against gitleaks v8.30.1 (`gitleaks dir`), on the same
# trees in the same run:
#   1. this project's modules in the Go module cache (go list -m all: the
#      source of its 40-odd dependencies, ~450 MB; copied, so that whatever
#      else the cache holds does not change the tree);
#   2. a large real repository: nix-community/home-manager's tree (when its
#      mirror is on this machine; SECRETS_BENCH_REPO names another);
#   3. a generated tree (bench/gensecrets: dense in the words scanners key
#      on, one large file, planted secrets).
# Two comparisons per tree: each tool with its own default rules, and the
# engines head to head, nixgate reading gitleaks' own default config from the
# module cache (config/gitleaks.toml of gitleaks v8.30.1; read here, never
# committed). Wall time and peak RSS come from /usr/bin/time -v.
#
#   bash bench/secrets.sh bin/nixgate
set -euo pipefail
NIXGATE=$(realpath "${1:?usage: bench/secrets.sh NIXGATE}")
cd "$(dirname "$0")/.."
GL_VERSION=v8.30.1
MB=${SECRETS_BENCH_MB:-160}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gitleaks=$(command -v gitleaks || true)
[ -z "$gitleaks" ] && [ -x "$(go env GOPATH)/bin/gitleaks" ] && gitleaks="$(go env GOPATH)/bin/gitleaks"
if [ -n "$gitleaks" ] && ! "$gitleaks" version 2>/dev/null | grep -q "${GL_VERSION#v}"; then
  echo "secrets: found $gitleaks ($("$gitleaks" version 2>/dev/null)), want $GL_VERSION; comparing anyway" >&2
fi
glconfig="$(go env GOMODCACHE)/github.com/zricethezav/gitleaks/v8@$GL_VERSION/config/gitleaks.toml"
[ -f "$glconfig" ] || glconfig=""

have_time=0
[ -x /usr/bin/time ] && have_time=1

# measure NAME CMD... : prints "seconds peak-KB" of one run; with rounds
# set to N (bench_tree's third argument), the median wall time and the
# largest peak of N runs.
measure() {
  local name=$1; shift
  if [ "${rounds:-1}" -gt 1 ]; then
    local i
    for i in $(seq "$rounds"); do rounds=1 measure "$name" "$@"; done |
      sort -n | awk '{t[NR]=$1; if ($2 > m) m=$2} END{printf "%.2f %d\n", t[int((NR+1)/2)], m}'
    return
  fi
  if [ $have_time = 1 ]; then
    /usr/bin/time -v -o "$work/$name.time" "$@" >/dev/null 2>"$work/$name.err" || true
    awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; t=s}
                /Maximum resident set size/{m=$2} END{printf "%.2f %d\n", t, m}' "$work/$name.time"
  else
    local s=$(date +%s.%N); "$@" >/dev/null 2>"$work/$name.err" || true
    echo "$(echo "$(date +%s.%N) - $s" | bc) 0"
  fi
}

count_ng() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$1" 2>/dev/null || grep -c '"checkId"' "$1"; }
count_gl() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$1" 2>/dev/null || grep -c '"RuleID"' "$1"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.1fx", a/b; else print "n/a" }'; }

echo "generating the bench tree ($MB MB)..." >&2
go run ./bench/gensecrets -o "$work/tree" -mb "$MB" >&2 2>&1

# gitleaks reads files of any size: so does nixgate here (its default
# 32 MiB text limit would skip the generated tree's 40 MB log, reported as
# unchecked-file, and make the comparison unfair).
printf 'version = 1\n[limits]\ntext = "1GiB"\n' >"$work/policy.toml"

# bench_tree LABEL DIR [ROUNDS]: each tool's median of ROUNDS runs
# (default 1: the large trees take gitleaks a minute or two).
bench_tree() {
  local label=$1 dir=$2
  local rounds=${3:-1}
  echo
  echo "### $label: $dir ($(du -sh "$dir" 2>/dev/null | cut -f1))${3:+, median of $3 runs each}"
  read -r ng_t ng_m < <(measure ng-$label "$NIXGATE" secrets scan --all --policy "$work/policy.toml" -f json -o "$work/ng-$label.json" "$dir")
  printf "%-44s %8ss %8d KB %6s findings (%s files)\n" "nixgate (own rules)" "$ng_t" "$ng_m" "$(count_ng "$work/ng-$label.json")" "$(find "$dir" -type f | wc -l)"
  if [ -n "$glconfig" ]; then
    read -r nh_t nh_m < <(measure nh-$label "$NIXGATE" secrets scan --all --policy "$work/policy.toml" --config "$glconfig" -f json -o "$work/nh-$label.json" "$dir")
    printf "%-44s %8ss %8d KB %6s findings\n" "nixgate (gitleaks' default config)" "$nh_t" "$nh_m" "$(count_ng "$work/nh-$label.json")"
  fi
  if [ -z "$gitleaks" ]; then
    echo "gitleaks: NOT INSTALLED (scripts/deps.sh bench installs $GL_VERSION); no ratio"
    return
  fi
  read -r gl_t gl_m < <(measure gl-$label "$gitleaks" dir "$dir" --no-banner --exit-code 0 -l error -f json -r "$work/gl-$label.json")
  printf "%-44s %8ss %8d KB %6s findings\n" "gitleaks $GL_VERSION dir (default rules)" "$gl_t" "$gl_m" "$(count_gl "$work/gl-$label.json")"
  echo "ratio, own rules each:        nixgate is $(ratio "$gl_t" "$ng_t") faster than gitleaks (wall time)"
  if [ -n "$glconfig" ]; then
    echo "ratio, engines head to head:  nixgate is $(ratio "$gl_t" "$nh_t") faster than gitleaks (wall time, same rules)"
  else
    echo "head to head: gitleaks' config not found in the module cache ($GL_VERSION); skipped"
  fi
}

echo "copying this project's modules from the module cache..." >&2
mkdir -p "$work/modules"
for d in $(go list -m -f '{{.Dir}}' all | grep -v "^$PWD\$" | grep -v '^$'); do cp -r "$d" "$work/modules/"; done
chmod -R u+w "$work/modules"
repo=${SECRETS_BENCH_REPO:-/work/.mirror/nix-community+home-manager/repo}
if [ -d "$repo" ]; then
  mkdir -p "$work/repo"
  git --git-dir="$repo" archive HEAD 2>/dev/null | tar -x -C "$work/repo" || git -C "$repo" archive HEAD | tar -x -C "$work/repo"
fi

echo "## secrets: directory scans, nixgate vs gitleaks ($(nproc) CPU, load $(cut -d' ' -f1-3 /proc/loadavg))"
bench_tree modules "$work/modules"
# The repository takes nixgate a tenth of a second: one run of it moved
# 0.09 -> 0.36 s between two full runs on a busy machine, so the median of 5.
[ -d "$work/repo" ] && bench_tree repository "$work/repo" 5
bench_tree generated "$work/tree"
