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
if [ "${1:-}" = bench ]; then
  need diffoscope diffoscope
  need hyperfine hyperfine
  need tokei tokei
  need jq jq
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
if [ "${1:-}" = bench ] && ! command -v gitleaks >/dev/null && ! [ -x "$(go env GOPATH)/bin/gitleaks" ]; then
  echo "installing gitleaks v8.30.1" >&2
  CGO_ENABLED=0 go install github.com/zricethezav/gitleaks/v8@v8.30.1
fi
exit 0
