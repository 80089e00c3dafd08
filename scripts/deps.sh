#!/usr/bin/env bash
# Installs what the tests (or, with "bench", the benchmarks) need when it
# is missing. Debian packages are installed only when running as root.
#
# The real Nix tests need Debian's nix-bin and a static busybox. A fresh
# nix-bin (installed without recommends) has no nixbld group, and Nix run
# as root defaults to build-users-group = nixbld, so as root this script
# also creates the group and its build users, as Nix's own installer and
# Debian's nix-setup-systemd do. It never writes /etc/nix/nix.conf: the
# tests pass every option they rely on explicitly.
set -euo pipefail
want=()
need() { command -v "$1" >/dev/null 2>&1 || want+=("$2"); }
need git git
need nix nix-bin
[ -x /bin/busybox ] || want+=(busybox-static)
need ssh-agent openssh-client # the signing tests' real ssh-agent, ssh-add, ssh-keygen
need pre-commit pre-commit # the hook test (cmd/nixgate/precommit_test.go) runs the real one
need node nodejs           # s3rver, the S3 server of the cache verify tests
need npm npm
# The build-claim log's tests: a throw-away PostgreSQL 15 cluster, and the
# dashboard in a headless Chromium.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || want+=(postgresql)
need chromium chromium
# nixgate ci's tests: JUnit XML validated with xmllint against the vendored
# schema; the fixture flake's builder and dev shell are a static bash.
need xmllint libxml2-utils
[ -x /bin/bash-static ] || want+=(bash-static)
# UKI tests (internal/ukifixture builds real images): the stub, objcopy,
# sbsign, OVMF's snakeoil key, cpio, efitools, osslsigncode, compressors;
# the boot test (scripts/test-boot.sh) adds QEMU.
need objcopy binutils
need sbsign sbsigntool
need osslsigncode osslsigncode
need cert-to-efi-sig-list efitools
need cpio cpio
need xz xz-utils
need zstd zstd
need lz4 lz4
need bzip2 bzip2
[ -e /usr/lib/systemd/boot/efi/linuxx64.efi.stub ] || want+=(systemd-boot-efi)
[ -e /usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd ] || want+=(ovmf)
# Rebuild and nar diff tests (internal/rebuild, internal/nar, hostaudit's
# probe): disorderfs for the file-order variation (with fuse), unshare and
# taskset (util-linux) for the time namespace and the CPU pin, an sshd for
# the ssh-ng:// builder, and the tools that make nar diff's real-world
# pairs at test time (gcc, ar, tar, xz, python3; go is the toolchain).
need disorderfs disorderfs
need taskset util-linux
[ -x /usr/sbin/sshd ] || want+=(openssh-server)
need gcc gcc
# gcc without its recommends has no C library headers (stdio.h).
[ -e /usr/include/stdio.h ] || want+=(libc6-dev)
need ar binutils
need tar tar
need python3 python3
if [ "${1:-}" = boot ]; then
  need qemu-system-x86_64 qemu-system-x86
fi
if [ "${1:-}" = bench ]; then
  need diffoscope diffoscope
  need hyperfine hyperfine
  need tokei tokei
  need jq jq
  need curl curl
  need python3 python3 # kernel-hardening-checker (bench/kconfig.sh), when KHC_SRC is set
fi
root=no
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && root=yes
if [ ${#want[@]} -gt 0 ]; then
  if [ $root = yes ]; then
    echo "installing: ${want[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null || {
      # Optional peers may be missing from the archive; retry one by one.
      for p in "${want[@]}"; do apt-get install -y -qq --no-install-recommends "$p" >/dev/null || echo "could not install $p" >&2; done
    }
  else
    echo "missing (install as root or by hand): ${want[*]}" >&2
  fi
fi
# /dev/null was once gone after the installs above (on a VM of this project,
# cause not found): every later `>/dev/null` then made it a regular file and
# the Go toolchain failed to open it. Put the device back.
if [ $root = yes ] && [ ! -c /dev/null ]; then
  echo "/dev/null is not a character device: recreating it" >&2
  rm -f /dev/null && mknod -m 666 /dev/null c 1 3
fi
# The kernel of the UKI fixture: a linux-image-*-amd64 package, downloaded
# (not installed: no postinst runs) to /var/cache/nixgate.
if ! ls /var/cache/nixgate/linux-image-*-amd64_*.deb >/dev/null 2>&1; then
  if [ $root = yes ]; then
    [ ${#want[@]} -gt 0 ] || apt-get update -qq >/dev/null
    kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
    if [ -n "$kpkg" ]; then
      echo "downloading $kpkg to /var/cache/nixgate" >&2
      mkdir -p /var/cache/nixgate
      (cd /var/cache/nixgate && apt-get download -q -o APT::Sandbox::User=root "$kpkg" >/dev/null) || echo "could not download $kpkg" >&2
    else
      echo "no linux-image-cloud-amd64 in the archive" >&2
    fi
  else
    echo "missing: a linux-image-*-amd64 package in /var/cache/nixgate (run scripts/deps.sh as root)" >&2
  fi
fi
# Nix's build users: the nixbld group and nixbld1..N, system accounts with
# no login shell and no home, members of nixbld.
if [ "$(id -u)" = 0 ]; then
  if ! getent group nixbld >/dev/null; then
    echo "creating the nixbld group and its build users" >&2
    groupadd --system nixbld
  fi
  for i in $(seq 1 8); do
    getent passwd "nixbld$i" >/dev/null && continue
    useradd --system --no-create-home --home-dir /var/empty --shell /usr/sbin/nologin \
      --gid nixbld --groups nixbld --comment "Nix build user $i" "nixbld$i"
  done
fi
# actionlint lints action.yml and the example workflows in make test
# (scripts/actionlint.sh): a Go module, built at a pinned version.
if ! command -v actionlint >/dev/null && ! [ -x "$(go env GOPATH)/bin/actionlint" ]; then
  echo "installing actionlint v1.7.7" >&2
  CGO_ENABLED=0 go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.7 || echo "could not install actionlint" >&2
fi
if [ "${1:-}" = bench ] && ! command -v gitleaks >/dev/null && ! [ -x "$(go env GOPATH)/bin/gitleaks" ]; then
  echo "installing gitleaks v8.30.1" >&2
  CGO_ENABLED=0 go install github.com/zricethezav/gitleaks/v8@v8.30.1
fi
# The provenance tests verify envelopes with cosign verify-blob-attestation
# too (the newest cosign the module proxy serves that builds on Go 1.26).
if ! command -v cosign >/dev/null && ! [ -x "$(go env GOPATH)/bin/cosign" ]; then
  echo "installing cosign v2.4.3 (go install; a few minutes)" >&2
  CGO_ENABLED=0 go install github.com/sigstore/cosign/v2/cmd/cosign@v2.4.3
fi
# s3rver, the S3 server of the cache verify tests, and aws4, with which the
# tests' proxy checks each request's v4 signature (s3rver does not), from
# the npm registry into GOPATH/share/nixgate (exact versions).
s3rver_dir="$(go env GOPATH)/share/nixgate/s3rver"
if command -v npm >/dev/null && { [ ! -x "$s3rver_dir/node_modules/.bin/s3rver" ] || [ ! -f "$s3rver_dir/node_modules/aws4/package.json" ]; }; then
  echo "installing s3rver 3.7.1 and aws4 1.13.2 into $s3rver_dir" >&2
  npm install --prefix "$s3rver_dir" --no-audit --no-fund --silent --save-exact s3rver@3.7.1 aws4@1.13.2 >/dev/null || echo "could not install s3rver" >&2
fi
exit 0
