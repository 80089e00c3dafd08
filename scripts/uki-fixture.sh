#!/usr/bin/env bash
# Builds real unified kernel images from Debian packages, for nixgate's UKI
# tests, the boot test and the benchmark:
#
#   scripts/uki-fixture.sh OUTDIR [--pad MIB]
#
# The kernel comes from a linux-image-*-amd64 package (extracted with
# dpkg-deb, no postinst; scripts/deps.sh uki downloads it to
# /var/cache/nixgate), the initrd is a static busybox whose init
# (/bin/bay0) prints NIXGATE-BOOT-OK on the serial console and powers off,
# the stub is systemd-boot-efi's linuxx64.efi.stub, the sections are added
# with objcopy and the images are signed with sbsign. OUTDIR gets:
#
#   vmlinuz kernel.config initrd.img cmdline os-release uname
#   unsigned.efi         the UKI, unsigned
#   signed.efi           signed with OVMF's snakeoil key (its db trusts it)
#   other.efi            signed with another, untrusted key
#   snakeoil.key/.crt    the snakeoil key (decrypted, mode 0600) and certificate
#   other.key/.crt       the other key and certificate
#
# --pad MIB adds MIB mebibytes of incompressible data to the initrd (the
# benchmark's 60 MB image).
set -euo pipefail
out=${1:?usage: uki-fixture.sh OUTDIR [--pad MIB]}
pad=0
if [ "${2:-}" = --pad ]; then pad=${3:?--pad needs MIB}; fi
stub=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
snakeoil=/usr/share/ovmf/PkKek-1-snakeoil
for t in objcopy objdump sbsign openssl cpio dpkg-deb; do
  command -v $t >/dev/null || { echo "uki-fixture: $t is missing (run scripts/deps.sh uki as root)" >&2; exit 3; }
done
for f in "$stub" /bin/busybox "$snakeoil.key" "$snakeoil.pem"; do
  [ -e "$f" ] || { echo "uki-fixture: $f is missing (run scripts/deps.sh uki as root)" >&2; exit 3; }
done
deb=${NIXGATE_KERNEL_DEB:-$(ls -1 /var/cache/nixgate/linux-image-*-amd64_*.deb 2>/dev/null | sort -V | tail -1)}
[ -n "$deb" ] && [ -f "$deb" ] || { echo "uki-fixture: no linux-image-*-amd64 package in /var/cache/nixgate (run scripts/deps.sh uki as root)" >&2; exit 3; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The kernel and its configuration, straight from the package's data.
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards './boot/vmlinuz-*' './boot/config-*' 2>/dev/null || true
cp "$work"/boot/vmlinuz-* "$out/vmlinuz"
cp "$work"/boot/config-* "$out/kernel.config"
kver=$(basename "$work"/boot/vmlinuz-*); kver=${kver#vmlinuz-}

# The initrd: busybox, the init that prints the marker, and the image's
# room policies (for uki check).
root=$work/root
mkdir -p "$root"/bin "$root"/dev "$root"/proc "$root"/sys "$root"/etc/anchor/rooms
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cat >"$root/bin/bay0" <<'EOF'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
echo "NIXGATE-BOOT-OK $(/bin/busybox uname -r)" >/dev/console
/bin/busybox poweroff -f
EOF
chmod 755 "$root/bin/bay0"
cat >"$root/etc/anchor/room.schema.json" <<'EOF'
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["name", "network"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,31}$"},
    "network": {"enum": ["none", "loopback", "uplink"]}
  }
}
EOF
printf 'name = "clock"\nnetwork = "uplink"\n' >"$root/etc/anchor/rooms/clock.toml"
printf 'name = "logger"\nnetwork = "none"\n' >"$root/etc/anchor/rooms/logger.toml"
if [ "$pad" -gt 0 ]; then
  head -c $((pad << 20)) /dev/urandom >"$root/etc/anchor/blob.bin"
fi
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -n -1 >"$out/initrd.img"

printf 'init=/bin/bay0 rdinit=/bin/bay0 console=ttyS0 panic=-1 lockdown=confidentiality module.sig_enforce=1 init_on_alloc=1' >"$out/cmdline"
printf 'NAME="nixgate test"\nID=nixgate\nVERSION_ID=1\nPRETTY_NAME="nixgate test image"\n' >"$out/os-release"
printf '%s' "$kver" >"$out/uname"

# Sections after the stub's last one, each aligned to 4 KiB, as ukify lays
# them out.
align() { echo $(( ($1 + 0xfff) & ~0xfff )); }
end=0
while read -r _ _ size vma _; do
  e=$((0x$vma + 0x$size)); [ $e -gt $end ] && end=$e
done < <(objdump -h -w "$stub" | awk '$1 ~ /^[0-9]+$/')
args=()
vma=$(align "$end")
for s in osrel:os-release cmdline:cmdline uname:uname initrd:initrd.img linux:vmlinuz; do
  name=.${s%%:*}; file=$out/${s#*:}
  args+=(--add-section "$name=$file" --change-section-vma "$name=$(printf 0x%x "$vma")")
  vma=$(align $((vma + $(stat -c %s "$file"))))
done
objcopy "${args[@]}" "$stub" "$out/unsigned.efi"

# Keys: the snakeoil key that OVMF's snakeoil db trusts, and another.
openssl pkey -in "$snakeoil.key" -passin pass:snakeoil -out "$out/snakeoil.key" 2>/dev/null
cp "$snakeoil.pem" "$out/snakeoil.crt"
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=nixgate test other key/" \
  -keyout "$out/other.key" -out "$out/other.crt" 2>/dev/null
chmod 600 "$out/snakeoil.key" "$out/other.key"
sbsign --key "$out/snakeoil.key" --cert "$out/snakeoil.crt" --output "$out/signed.efi" "$out/unsigned.efi" 2>/dev/null
sbsign --key "$out/other.key" --cert "$out/other.crt" --output "$out/other.efi" "$out/unsigned.efi" 2>/dev/null
echo "uki-fixture: built $out (kernel $kver from $(basename "$deb"))" >&2
