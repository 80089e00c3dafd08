#!/usr/bin/env bash
# make demo: run `nixgate check` with the built-in policy on a fresh copy of
# examples/anchor committed to a new git repository in a temporary
# directory. Exits with nixgate's code (1: the planted problems).
set -uo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -a "$here/examples/anchor" "$tmp/anchor"
(
  cd "$tmp/anchor" &&
  git init -q -b main &&
  git add -A &&
  git -c user.name=demo -c user.email=demo@example.org -c commit.gpgsign=false commit -q -m "anchor example"
) || exit 3
echo "\$ nixgate check   # in a fresh copy of examples/anchor, built-in policy" >&2
cd "$tmp/anchor" && "$bin" check
code=$?
echo "(nixgate exited with $code)" >&2
# The anchor UKI, built by its recipe (uki/build.sh) when the tools are
# installed (scripts/deps.sh), checked by nixgate uki check: the image
# embeds the same room policies, so it shows the same planted vault.toml.
if [ -x /usr/bin/objcopy ] && [ -e /usr/lib/systemd/boot/efi/linuxx64.efi.stub ] && ls /var/cache/nixgate/linux-image-*-amd64_*.deb >/dev/null 2>&1; then
  echo "\$ bash uki/build.sh anchor.efi && nixgate uki check anchor.efi --policy uki/gate.toml" >&2
  if bash uki/build.sh "$tmp/anchor.efi"; then
    "$bin" uki check "$tmp/anchor.efi" --policy uki/gate.toml
    echo "(nixgate uki check exited with $?)" >&2
  fi
fi
exit $code
