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
exit $code
