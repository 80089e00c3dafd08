#!/usr/bin/env bash
# Kernel configuration gate: whole-process time of `nixgate kconfig` on the
# ~13,000-line nixpkgs kernel configurations against every built-in profile,
# next to kernel-hardening-checker (the Python reference tool) on the same
# files when it is installed.
#
# Usage: bash bench/kconfig.sh bin/nixgate
set -euo pipefail
bin=$(realpath "${1:?usage: bench/kconfig.sh NIXGATE_BINARY}")
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=$here/../shared/corpus/kconfig
if [ ! -d "$corpus" ]; then
  # The gzipped copies in testdata are the same files.
  corpus=$(mktemp -d)
  trap 'rm -rf "$corpus"' EXIT
  for f in "$here"/internal/kconfig/testdata/configs/nixpkgs-*.config.gz; do
    gunzip -c "$f" >"$corpus/$(basename "${f%.gz}")"
  done
fi
configs=("$corpus"/nixpkgs-linux_latest.config "$corpus"/nixpkgs-linux_lts.config "$corpus"/nixpkgs-linux_hardened.config)
profiles=()
for p in $("$bin" kconfig --help | sed -n 's/^Built-in profiles: \(.*\)\.$/\1/p' | tr -d ','); do profiles+=(-p "$p"); done
echo "inputs: ${configs[*]##*/} ($(wc -l <"${configs[0]}") lines each, about)"
echo "profiles: ${profiles[*]}"

peer=""
if command -v kernel-hardening-checker >/dev/null 2>&1; then
  peer=kernel-hardening-checker
else
  echo "peer: kernel-hardening-checker is not installed (not in Debian; pip cannot reach PyPI here): nixgate figures only"
fi

ms() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[1]) * 1000))' "$1"; }

if command -v hyperfine >/dev/null 2>&1; then
  for c in "${configs[@]}"; do
    cmds=("$bin kconfig $c ${profiles[*]}")
    [ -n "$peer" ] && cmds+=("$peer -c $c")
    json=$(mktemp)
    # -i: the gate exits 1 on these configurations, as it should.
    hyperfine -N -i --warmup 5 --runs 40 --export-json "$json" "${cmds[@]}" >/dev/null 2>&1
    read -r mean median min cpu < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["mean"], r["median"], r["min"], r["user"] + r["system"])' "$json")
    line="$(basename "$c"): nixgate mean $(ms "$mean") ms, median $(ms "$median") ms, min $(ms "$min") ms, cpu (user+sys) $(ms "$cpu") ms"
    if [ -n "$peer" ]; then
      pmean=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][1]["mean"])' "$json")
      line+="; $peer mean $(ms "$pmean") ms; ratio $(python3 -c 'import sys; print("%.1fx" % (float(sys.argv[1]) / float(sys.argv[2])))' "$pmean" "$mean")"
    fi
    rm -f "$json"
    echo "$line"
  done
else
  echo "hyperfine not installed: timing 40 runs with bash"
  for c in "${configs[@]}"; do
    start=$(date +%s%N)
    for _ in $(seq 40); do "$bin" kconfig "$c" "${profiles[@]}" >/dev/null || true; done
    end=$(date +%s%N)
    line="$(basename "$c"): nixgate $(( (end - start) / 40000000 )) ms per run"
    if [ -n "$peer" ]; then
      start=$(date +%s%N)
      for _ in $(seq 40); do "$peer" -c "$c" >/dev/null || true; done
      end=$(date +%s%N)
      line+="; $peer $(( (end - start) / 40000000 )) ms per run"
    fi
    echo "$line"
  done
fi
echo "target: under 20 ms per run (whole process, all profiles); load average: $(cut -d" " -f1-3 /proc/loadavg)"
