#!/usr/bin/env bash
# UKI inspect and verify: whole-process time of `nixgate uki inspect` and
# `nixgate uki verify` on a 60 MB signed UKI (a Debian kernel and a busybox
# initrd padded with 45 MiB of random data, built by scripts/uki-fixture.sh),
# next to `sbverify` and `osslsigncode verify` on the same file, in the same
# run. Target: at least as fast as the faster of the two.
#
# Usage: bash bench/uki.sh bin/nixgate
set -euo pipefail
bin=$(realpath "${1:?usage: bench/uki.sh NIXGATE_BINARY}")
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/deps.sh" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash "$here/scripts/uki-fixture.sh" "$work" --pad 45 2>/dev/null
img=$work/signed.efi
crt=$work/snakeoil.crt
echo "input: $(basename "$img"), $(stat -c %s "$img") bytes; sections: $("$bin" uki inspect --no-initrd "$img" | awk '/^\.linux|^\.initrd/ { printf "%s %s bytes; ", $1, $4 }')"
# Every verifier must accept the file before it is timed.
"$bin" uki verify "$img" --cert "$crt" >/dev/null
sbverify --cert "$crt" "$img" >/dev/null 2>&1
osslsigncode verify -CAfile "$crt" -in "$img" >/dev/null 2>&1

ms() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[1]) * 1000))' "$1"; }
cmds=(
  "$bin uki inspect $img"
  "$bin uki verify $img --cert $crt"
  "sbverify --cert $crt $img"
  "osslsigncode verify -CAfile $crt -in $img"
)
names=("nixgate uki inspect" "nixgate uki verify" "sbverify" "osslsigncode verify")
json=$work/h.json
if command -v hyperfine >/dev/null 2>&1; then
  hyperfine -N --warmup 3 --runs 20 --export-json "$json" "${cmds[@]}" >/dev/null 2>&1
  mapfile -t means < <(python3 -c 'import json,sys; [print(r["mean"]) for r in json.load(open(sys.argv[1]))["results"]]' "$json")
  mapfile -t cpus < <(python3 -c 'import json,sys; [print(r["user"] + r["system"]) for r in json.load(open(sys.argv[1]))["results"]]' "$json")
else
  echo "hyperfine not installed: timing 20 runs with bash"
  means=()
  for c in "${cmds[@]}"; do
    start=$(date +%s%N)
    for _ in $(seq 20); do $c >/dev/null 2>&1; done
    end=$(date +%s%N)
    means+=("$(python3 -c "print(($end - $start) / 20e9)")")
  done
fi
for i in "${!names[@]}"; do echo "${names[$i]}: mean $(ms "${means[$i]}") ms${cpus:+, cpu (user+sys) $(ms "${cpus[$i]}") ms}"; done
faster=$(python3 -c 'import sys; print(min(float(sys.argv[1]), float(sys.argv[2])))' "${means[2]}" "${means[3]}")
for i in 0 1; do
  echo "${names[$i]} vs the faster of sbverify and osslsigncode: $(python3 -c 'import sys; print("%.2fx" % (float(sys.argv[1]) / float(sys.argv[2])))' "$faster" "${means[$i]}") (above 1.00x: nixgate is faster)"
done
if [ -n "${cpus:-}" ]; then
  # On a loaded machine wall time mostly measures the scheduler; CPU time
  # is the work done (nixgate spreads it over two cores, the peers use one).
  cfaster=$(python3 -c 'import sys; print(min(float(sys.argv[1]), float(sys.argv[2])))' "${cpus[2]}" "${cpus[3]}")
  for i in 0 1; do
    echo "${names[$i]} cpu vs the faster peer's cpu: $(python3 -c 'import sys; print("%.2fx" % (float(sys.argv[1]) / float(sys.argv[2])))' "$cfaster" "${cpus[$i]}")"
  done
fi
echo "load average: $(cut -d" " -f1-3 /proc/loadavg)"
