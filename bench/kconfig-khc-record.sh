#!/usr/bin/env bash
# Records kernel-hardening-checker's own verdicts for the kconfig parity test
# (internal/kconfig/parity_test.go): runs of khc with a kernel configuration, a
# command line and a sysctl file together, written to
# internal/kconfig/testdata/khc/full/NAME.json.gz with NAME.args (the three
# input paths, relative to internal/kconfig), and khc's recommendations per
# architecture (`-p ARCH -m json`) to testdata/khc/print/ARCH.json.gz.
# The configuration-only verdicts in testdata/khc/expected come from
# ../shared/corpus/kconfig/khc-expected.
#
# Usage: KHC_SRC=/path/to/kernel-hardening-checker bash bench/kconfig-khc-record.sh --record
# (github.com/a13xp0p0v/kernel-hardening-checker at commit 0b9aebf, which reports version
# 0.6.17.1: the snapshot ../shared/corpus/kconfig/khc-expected was made with; the v0.6.17.1
# tag itself lacks nine later checks, SLAB_BUCKETS and the CRYPTO_USER_API family among them).
# `make bench` runs every bench/*.sh with the binary as argument: then this
# script only says how to use it, so that a benchmark run never rewrites
# test data.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" != --record ]; then
  echo "kconfig-khc-record: records khc's verdicts for the parity test; run KHC_SRC=DIR bash bench/kconfig-khc-record.sh --record"
  exit 0
fi
: "${KHC_SRC:?set KHC_SRC to a kernel-hardening-checker checkout}"
khc() { python3 "$KHC_SRC/bin/kernel-hardening-checker" "$@"; }
echo "khc: $(khc --version)"
cd "$here/internal/kconfig"
out=testdata/khc/full
mkdir -p "$out" testdata/khc/print
while read -r name config cmdline sysctl; do
  [ -z "$name" ] && continue
  khc -c "$config" -l "$cmdline" -s "$sysctl" -m json | gzip -9n >"$out/$name.json.gz"
  echo "$config $cmdline $sysctl" >"$out/$name.args"
  echo "recorded $name"
done <<'CASES'
kspp-x86-64 testdata/configs/kspp-kconfig-x86-64.config testdata/kspp-cmdline-x86-64.txt testdata/kspp-sysctl.txt
example testdata/configs/example_config.gz testdata/cmdline_example.txt testdata/example_sysctls.txt
debian13-weak testdata/configs/Debian_13_Trixie_x86_64.config.gz testdata/cmdline-weak.txt testdata/sysctl-weak.txt
nixpkgs-hardened testdata/configs/nixpkgs-linux_hardened.config.gz testdata/kspp-cmdline-x86-64.txt testdata/example_sysctls.txt
arm64-kspp testdata/configs/kspp-kconfig-arm64.config testdata/kspp-cmdline-x86-64.txt testdata/kspp-sysctl.txt
arm64-weak testdata/configs/arm64_defconfig_6.17.config.gz testdata/cmdline-weak.txt testdata/sysctl-weak.txt
i386-weak testdata/configs/i386_defconfig_6.17.config.gz testdata/cmdline-weak.txt testdata/kspp-sysctl.txt
i386-kspp testdata/configs/kspp-kconfig-i386.config testdata/kspp-cmdline-x86-64.txt testdata/sysctl-weak.txt
arm-example testdata/configs/arm_defconfig_6.17.config.gz testdata/cmdline_example.txt testdata/example_sysctls.txt
arm-kspp testdata/configs/kspp-kconfig-arm.config testdata/kspp-cmdline-x86-64.txt testdata/kspp-sysctl.txt
riscv-weak testdata/configs/riscv_defconfig_6.17.config.gz testdata/cmdline-weak.txt testdata/sysctl-weak.txt
android-example testdata/configs/Android_15_6.6_aarch64.config.gz testdata/cmdline_example.txt testdata/kspp-sysctl.txt
CASES
for a in X86_64:x86_64 X86_32:x86_32 ARM64:arm64 ARM:arm RISCV:riscv; do
  khc -p "${a%%:*}" -m json | gzip -9n >"testdata/khc/print/${a##*:}.json.gz"
done
echo "recorded the recommendations per architecture"
