#!/usr/bin/env bash
# bench/host.sh NIXGATE — `nixgate host` (full audit) and `nixgate host show`
# against `nix show-config` on the same configuration (this host's), N runs
# each, in one run; prints the mean wall time per run and the ratios.
set -euo pipefail
bin=${1:?usage: bench/host.sh path/to/nixgate}
n=${N:-50}
if ! command -v nix >/dev/null; then
	echo "host: peer 'nix' is absent (scripts/deps.sh bench installs nix-bin); skipping"
	exit 0
fi
time_runs() { # time_runs CMD... -> mean milliseconds
	local start end
	start=$(date +%s%N)
	for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 || true; done
	end=$(date +%s%N)
	echo $(((end - start) / n / 1000000))
}
peer=$(time_runs nix --extra-experimental-features nix-command show-config)
show=$(time_runs "$bin" host show)
audit=$(time_runs "$bin" host)
echo "host: $n runs each on $(nix --version)"
echo "  nix show-config:  ${peer} ms/run"
echo "  nixgate host show: ${show} ms/run"
echo "  nixgate host:      ${audit} ms/run (18 checks)"
awk -v p="$peer" -v s="$show" -v a="$audit" 'BEGIN {
	if (p == 0) p = 1
	printf "  ratio host show / nix show-config: %.2f\n", s / p
	printf "  ratio host      / nix show-config: %.2f\n", a / p
}'
