#!/usr/bin/env bash
# Installs what the tests (or, with "bench", the benchmarks) need when it
# is missing. Debian packages are installed only when running as root.
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
  need python3 python3 # kernel-hardening-checker (bench/kconfig.sh), when KHC_SRC is set
fi
if [ ${#want[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
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
if [ "${1:-}" = bench ] && ! command -v gitleaks >/dev/null && ! [ -x "$(go env GOPATH)/bin/gitleaks" ]; then
  echo "installing gitleaks v8.30.1" >&2
  CGO_ENABLED=0 go install github.com/zricethezav/gitleaks/v8@v8.30.1
fi
exit 0
