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
need pre-commit pre-commit # the hook test (cmd/nixgate/precommit_test.go) runs the real one
need node nodejs           # s3rver, the S3 server of the cache verify tests, and aws4, with which the
# tests' proxy checks each request's v4 signature (s3rver does not), from
# the npm registry into GOPATH/share/nixgate (exact versions).
s3rver_dir="$(go env GOPATH)/share/nixgate/s3rver"
if command -v npm >/dev/null && { [ ! -x "$s3rver_dir/node_modules/.bin/s3rver" ] || [ ! -f "$s3rver_dir/node_modules/aws4/package.json" ]; }; then
  echo "installing s3rver 3.7.1 and aws4 1.13.2 into $s3rver_dir" >&2
  npm install --prefix "$s3rver_dir" --no-audit --no-fund --silent --save-exact s3rver@3.7.1 aws4@1.13.2 >/dev/null || echo "could not install s3rver" >&2
fi
exit 0
