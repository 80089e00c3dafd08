#!/usr/bin/env bash
# Builds the anchor UKI the way default.nix does, from Debian's packages instead of
# nixpkgs: the kernel of a linux-image-*-amd64 package (scripts/deps.sh downloads
# one to /var/cache/nixgate), busybox standing in for the bay0 init, the room
# policies of this repository in the initrd, systemd-boot's stub, objcopy.
#
#   bash uki/build.sh OUT.efi
#   nixgate uki check OUT.efi --policy uki/gate.toml
set -euo pipefail
out=${1:?usage: uki/build.sh OUT.efi}
here=$(cd "$(dirname "$0")" && pwd)
stub=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
deb=$(ls -1 /var/cache/nixgate/linux-image-*-amd64_*.deb 2>/dev/null | sort -V | tail -1)
[ -n "$deb" ] || { echo "no linux-image-*-amd64 package in /var/cache/nixgate" >&2; exit 3; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards './boot/vmlinuz-*' 2>/dev/null || true
mkdir -p "$work/root/bin" "$work/root/etc/anchor/rooms"
cp /bin/busybox "$work/root/bin/bay0"
cp "$here/../policies/room.schema.json" "$work/root/etc/anchor/room.schema.json"
cp "$here"/../policies/rooms/*.toml "$work/root/etc/anchor/rooms/"
(cd "$work/root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -n -9 >"$work/initrd"
objcopy \
  --add-section .osrel="$here/os-release" --change-section-vma .osrel=0x20000 \
  --add-section .cmdline="$here/cmdline" --change-section-vma .cmdline=0x30000 \
  --add-section .initrd="$work/initrd" --change-section-vma .initrd=0x3000000 \
  --add-section .linux="$(ls "$work"/boot/vmlinuz-*)" --change-section-vma .linux=0x2000000 \
  "$stub" "$out"
