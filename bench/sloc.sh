#!/usr/bin/env bash
# source-loc-limit against tokei, on the same tree in the same run: the Go
# module cache (or $SLOC_DIR). Prints both times, the ratio, and whether the
# code-line counts agree for the languages nixgate counts.
# Usage: bash bench/sloc.sh bin/nixgate
set -euo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dir=${SLOC_DIR:-$(go env GOMODCACHE)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/policy.toml" <<'TOML'
version = 1
[checks.source-loc-limit]
limits = { "." = 1 }
largest = 0
TOML
now() { date +%s.%N; }

t0=$(now)
# exit 1 is expected: the limit of 1 line is exceeded.
"$bin" check "$dir" --only source-loc-limit --policy "$tmp/policy.toml" --format json >"$tmp/ng.json" || [ $? = 1 ]
t1=$(now)
ng_code=$(grep -o 'has [0-9]* code lines' "$tmp/ng.json" | head -1 | grep -o '[0-9]*')
ng_time=$(echo "$t1 - $t0" | bc -l)
files=$(find "$dir" -type f \( -name '*.go' -o -name '*.rs' -o -name '*.c' -o -name '*.h' -o -name '*.cc' -o -name '*.cpp' -o -name '*.hpp' -o -name '*.py' -o -name '*.sh' -o -name '*.nix' \) | wc -l)
printf 'input: %s (%s source files by extension)\n' "$dir" "$files"
printf 'nixgate source-loc-limit: %8.2fs  %s code lines\n' "$ng_time" "$ng_code"

tokei=$(command -v tokei || true)
if [ -z "$tokei" ]; then
  echo "tokei: not installed (peer absent: Debian bookworm has no tokei package; install it and rerun for the ratio)"
  exit 0
fi
t0=$(now)
# --hidden: nixgate counts hidden files too; the language list is nixgate's.
"$tokei" --hidden -t 'BASH,C,C Header,C++,C++ Header,Go,Nix,Python,Shell,Zsh,Rust' "$dir" >"$tmp/tokei.txt"
t1=$(now)
tk_time=$(echo "$t1 - $t0" | bc -l)
tk_code=$(awk '$1 == "Total" { print $4; exit }' "$tmp/tokei.txt")
printf 'tokei:                    %8.2fs  %s code lines\n' "$tk_time" "$tk_code"
printf 'ratio (nixgate / tokei):  %8.2f\n' "$(echo "$ng_time / $tk_time" | bc -l)"
if [ "$ng_code" = "$tk_code" ]; then echo "counts agree"; else echo "counts differ by $((ng_code - tk_code))"; fi
