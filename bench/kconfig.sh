#!/usr/bin/env bash
# Kernel configuration gate: whole-process CPU and wall time of
# `nixgate kconfig` with every built-in profile family (anchor, kspp, khc)
# on a kernel configuration, a command line and a sysctl listing, against
# kernel-hardening-checker (khc, the Python tool whose checks the khc
# profile reproduces) on the same inputs, interleaved in the same run.
# Both tools' default (text) report and their JSON; reports the medians
# and the ratios; the target is >= 6x on both CPU and wall time.
#
# khc runs when KHC_SRC points at a checkout (github.com/a13xp0p0v/
# kernel-hardening-checker, tag v0.6.17.1) or kernel-hardening-checker is on
# PATH; otherwise the script says so and reports nixgate's figures alone.
#
# Usage: [KHC_SRC=DIR] [RUNS=N] bash bench/kconfig.sh bin/nixgate
set -euo pipefail
bin=$(realpath "${1:?usage: bench/kconfig.sh NIXGATE_BINARY}")
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-30}
data=$here/internal/kconfig/testdata
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The nixpkgs configurations (about 13,000 lines each), uncompressed so that
# neither tool pays for gzip.
configs=()
for n in nixpkgs-linux_latest nixpkgs-linux_lts nixpkgs-linux_hardened; do
  gunzip -c "$data/configs/$n.config.gz" >"$work/$n.config"
  configs+=("$work/$n.config")
done
cmdline=$data/cmdline_example.txt
sysctl=$data/example_sysctls.txt

peer=()
# Without KHC_SRC: a local mirror of the repository (as the fetch tool
# leaves it under /work/.mirror, or MIRROR), checked out at the tag.
khc_mirror=${MIRROR:-/work/.mirror}/a13xp0p0v+kernel-hardening-checker/repo
if [ -z "${KHC_SRC:-}" ] && git --git-dir="$khc_mirror" rev-parse -q --verify v0.6.17.1 >/dev/null 2>&1; then
  git clone -q "$khc_mirror" "$work/khc" && git -C "$work/khc" -c advice.detachedHead=false checkout -q v0.6.17.1 && KHC_SRC=$work/khc
fi
if [ -n "${KHC_SRC:-}" ] && [ -f "$KHC_SRC/bin/kernel-hardening-checker" ]; then
  peer=(python3 "$KHC_SRC/bin/kernel-hardening-checker")
elif command -v kernel-hardening-checker >/dev/null 2>&1; then
  peer=(kernel-hardening-checker)
fi
echo "inputs: ${configs[*]##*/} ($(wc -l <"${configs[0]}") lines), $(basename "$cmdline"), $(basename "$sysctl") ($(wc -l <"$sysctl") lines)"
echo "nixgate: $bin kconfig CONFIG -p anchor -p kspp -p khc --cmdline CMDLINE --sysctl SYSCTL [-f json]"
if [ ${#peer[@]} -gt 0 ]; then
  echo "peer: ${peer[*]} ($("${peer[@]}" --version 2>&1)) -c CONFIG -l CMDLINE -s SYSCTL [-m json]"
else
  echo "peer: kernel-hardening-checker not found (set KHC_SRC to a checkout of v0.6.17.1, or put it on PATH): nixgate figures only"
fi

if ! command -v python3 >/dev/null 2>&1; then
  echo "python3 not found: wall time only, with bash"
  for c in "${configs[@]}"; do
    start=$(date +%s%N)
    for _ in $(seq "$runs"); do "$bin" kconfig "$c" -p anchor -p kspp -p khc --cmdline "$cmdline" --sysctl "$sysctl" -f json >/dev/null || true; done
    echo "$(basename "$c"): nixgate $(( ($(date +%s%N) - start) / runs / 1000 )) us per run (wall)"
  done
  exit 0
fi

# Each run's wall time and CPU time (user + system, from the kernel's
# accounting of the child) are taken by Python; nixgate and khc alternate so
# that both see the same machine load.
python3 - "$runs" "$bin" "$cmdline" "$sysctl" "${configs[@]}" -- "${peer[@]}" <<'PY'
import os, resource, statistics, subprocess, sys, time
args = sys.argv[1:]
runs, nixgate, cmdline, sysctl = int(args[0]), args[1], args[2], args[3]
rest = args[4:]
sep = rest.index("--")
configs, peer = rest[:sep], rest[sep + 1:]

def measure(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p.returncode

ratios = []
cases = [(cfg, fmt) for fmt in ("text", "json") for cfg in configs]
for cfg, fmt in cases:
    ng = [nixgate, "kconfig", cfg, "-p", "anchor", "-p", "kspp", "-p", "khc", "--cmdline", cmdline, "--sysctl", sysctl, "-f", fmt]
    kh = (peer + ["-c", cfg, "-l", cmdline, "-s", sysctl] + (["-m", "json"] if fmt == "json" else [])) if peer else None
    for cmd in [ng] + ([kh] if kh else []):
        measure(cmd)  # warm-up: page cache, Python's bytecode cache
    nw, nc, pw, pc = [], [], [], []
    code = None
    for _ in range(runs):
        w, c, code = measure(ng)
        nw.append(w); nc.append(c)
        if kh:
            w, c, kcode = measure(kh)
            if kcode != 0:
                sys.exit(f"kernel-hardening-checker exited {kcode} on {cfg}")
            pw.append(w); pc.append(c)
    if code not in (0, 1):
        sys.exit(f"nixgate exited {code} on {cfg}")
    ms = lambda v: f"{1000 * statistics.median(v):.1f} ms"
    line = f"{os.path.basename(cfg)}, {fmt}: nixgate median wall {ms(nw)}, cpu {ms(nc)}"
    if kh:
        rw, rc = statistics.median(pw) / statistics.median(nw), statistics.median(pc) / max(statistics.median(nc), 1e-9)
        ratios.append((min(rw, rc), fmt))
        line += f"; khc median wall {ms(pw)}, cpu {ms(pc)}; ratio wall {rw:.1f}x, cpu {rc:.1f}x"
    print(line, flush=True)
if ratios:
    for fmt in ("text", "json"):
        worst = min(r for r, f in ratios if f == fmt)
        print(f"{fmt}: worst ratio {worst:.1f}x: target >= 6x {'met' if worst >= 6 else 'NOT met'} ({runs} runs each, interleaved)")
else:
    print(f"({runs} runs each; no peer to compare with)")
PY
echo "load average: $(cut -d" " -f1-3 /proc/loadavg)"
