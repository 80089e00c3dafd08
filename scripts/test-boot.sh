#!/usr/bin/env bash
# make test-boot: the UKI boot matrix in QEMU. Installs what it needs when
# missing (qemu-system-x86, ovmf, sbsigntool, systemd-boot-efi, binutils and
# a linux-image-*-amd64 kernel package, through scripts/deps.sh boot), builds
# the real images (scripts/uki-fixture.sh) and boots each under OVMF's
# Secure-Boot-enforcing snakeoil firmware next to nixgate uki verify's
# verdict: about ten seconds a boot under TCG here, a minute at most.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh boot
go test -count=1 -tags boot -timeout 30m -run 'TestBootMatrix' -v ./internal/boottest/
