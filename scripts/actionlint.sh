#!/usr/bin/env bash
# Lints the composite action (action.yml) and the example workflows
# (ci/github/*.yml) with actionlint. actionlint resolves a local action
# (`uses: ./`) only inside a git repository with .github/workflows, so the
# files are copied into a temporary one, with the examples' reference to
# this action (nixgate/nixgate@SHA) turned into `./`: the inputs the
# examples pass are checked against action.yml's.
set -euo pipefail
cd "$(dirname "$0")/.."
lint=$(command -v actionlint || echo "$(go env GOPATH)/bin/actionlint")
[ -x "$lint" ] || { echo "actionlint is missing (scripts/deps.sh installs it)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -c init.defaultBranch=main init -q "$tmp"
mkdir -p "$tmp/.github/workflows" "$tmp/scripts"
cp action.yml "$tmp/"
cp scripts/action.sh "$tmp/scripts/"
for f in ci/github/*.yml; do
  sed -E 's#uses: nixgate/nixgate@[0-9a-f]{40}#uses: ./#' "$f" >"$tmp/.github/workflows/$(basename "$f")"
done
(cd "$tmp" && "$lint" -no-color)
echo "actionlint: action.yml and $(ls ci/github/*.yml | wc -l) example workflow(s) are clean"
