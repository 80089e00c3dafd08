#!/usr/bin/env bash
# bench/sbom.sh NIXGATE — `nixgate sbom` (CycloneDX and SPDX) of a closure
# of 1,000 store paths against the same closure's `nix path-info --json
# --recursive` alone, N runs each, in one run; prints the mean wall time per
# run and the ratios (the target: at most 1.5x).
#
# The closure is made by the real Nix in a fresh chroot store: 1,000 text
# files (builtins.toFile), each referring to the one before it and to two
# others, so that every path is in the last one's closure with about 3,000
# edges.
set -euo pipefail
bin=${1:?usage: bench/sbom.sh path/to/nixgate}
n=${N:-20}
if ! command -v nix >/dev/null; then
	echo "sbom: peer 'nix' is absent (scripts/deps.sh bench installs nix-bin); skipping"
	exit 0
fi
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
store=$work/store
cat >"$work/closure.nix" <<'NIX'
let
  count = 1000;
  dep = i: builtins.elemAt nodes i;
  deps = i: if i == 0 then [ ] else [ (i - 1) (i / 2) (i / 3) ];
  node = i: builtins.toFile "lib${toString i}-1.${toString (i / 10)}.${toString i}"
    (builtins.concatStringsSep "\n" ([ "node ${toString i}" ] ++ map (j: "${dep j}") (deps i)));
  nodes = builtins.genList node count;
in dep (count - 1)
NIX
root=$(nix-instantiate --store "$store" --option substituters '' --eval --read-write-mode --raw "$work/closure.nix" 2>/dev/null ||
	nix-instantiate --store "$store" --option substituters '' --eval --read-write-mode "$work/closure.nix" | tr -d '"')
nix_pi() { nix --extra-experimental-features nix-command path-info --store "$store" --option substituters '' --json --recursive "$root"; }
paths=$(nix_pi | grep -o '"path":' | wc -l)
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
"$bin" sbom --store "$store" "$root" >/dev/null # warm the store's caches once
# Interleaved, so that a change in the machine's load hits all three alike;
# the median of each.
: >"$work/peer" >"$work/cdx" >"$work/spdx"
for _ in $(seq "$n"); do
	t=$(date +%s%N); nix_pi >/dev/null 2>&1; ms_since "$t" >>"$work/peer"
	t=$(date +%s%N); "$bin" sbom --store "$store" "$root" >/dev/null 2>&1; ms_since "$t" >>"$work/cdx"
	t=$(date +%s%N); "$bin" sbom --store "$store" --format spdx "$root" >/dev/null 2>&1; ms_since "$t" >>"$work/spdx"
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
peer=$(median "$work/peer")
cdx=$(median "$work/cdx")
spdx=$(median "$work/spdx")
echo "sbom: median of $n interleaved runs each on a closure of $paths store paths, $(nix --version)"
echo "  nix path-info --json --recursive:  ${peer} ms/run"
echo "  nixgate sbom (CycloneDX 1.6):      ${cdx} ms/run"
echo "  nixgate sbom --format spdx (2.3):  ${spdx} ms/run"
awk -v p="$peer" -v c="$cdx" -v s="$spdx" 'BEGIN {
	if (p == 0) p = 1
	printf "  ratio sbom cyclonedx / path-info: %.2f (target <= 1.5)\n", c / p
	printf "  ratio sbom spdx      / path-info: %.2f (target <= 1.5)\n", s / p
}'
