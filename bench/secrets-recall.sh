#!/usr/bin/env bash
# Recall and false-positive rate per class of secret, nixgate against
# gitleaks v8.30.1 and trufflehog v3.97.0 (no network verification), on the
# labelled sample set of internal/secrets/samples (written by
# bench/secretsamples: shapes modelled on both peers' public rule and
# detector test cases, hand-made Nix cases, encrypted material). Each tool
# scans the same directory in the same run; a sample counts as found when a
# tool reports anything in its file.
#
#   bash bench/secrets-recall.sh bin/nixgate
#
# trufflehog: `go install` of its module is refused by the proxy's version
# list here, so when it is not on the PATH (or in $(go env GOPATH)/bin) the
# script fetches the exact version into the module cache (go mod download)
# and builds it from there, and says so; if that fails it says so and scores
# the others.
set -euo pipefail
NIXGATE=$(realpath "${1:?usage: bench/secrets-recall.sh NIXGATE}")
cd "$(dirname "$0")/.."
GL_VERSION=v8.30.1
TH_VERSION=v3.97.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

find_tool() {
  local name=$1
  command -v "$name" 2>/dev/null || { [ -x "$(go env GOPATH)/bin/$name" ] && echo "$(go env GOPATH)/bin/$name"; } || true
}
gitleaks=$(find_tool gitleaks)
trufflehog=$(find_tool trufflehog)
if [ -z "$trufflehog" ]; then
  echo "secrets-recall: trufflehog not installed; building $TH_VERSION from the module cache" >&2
  if dir=$(go mod download -json "github.com/trufflesecurity/trufflehog/v3@$TH_VERSION" 2>/dev/null | sed -n 's/.*"Dir": "\(.*\)",/\1/p') && [ -n "$dir" ] &&
    (cd "$dir" && CGO_ENABLED=0 go build -o "$(go env GOPATH)/bin/trufflehog" . ) >&2; then
    trufflehog="$(go env GOPATH)/bin/trufflehog"
  else
    echo "secrets-recall: could not build trufflehog $TH_VERSION; scoring without it" >&2
  fi
fi

go run ./bench/secretsamples gen -o "$work/set" >&2
reports=()
"$NIXGATE" secrets scan --all -f json -o "$work/nixgate.json" "$work/set" 2>/dev/null || true
reports+=("nixgate=$work/nixgate.json")
if [ -n "$gitleaks" ]; then
  "$gitleaks" dir "$work/set" --no-banner --exit-code 0 -l error -f json -r "$work/gitleaks.json"
  reports+=("gitleaks=$work/gitleaks.json")
else
  echo "secrets-recall: gitleaks NOT INSTALLED (scripts/deps.sh bench installs $GL_VERSION)" >&2
fi
if [ -n "$trufflehog" ]; then
  "$trufflehog" filesystem "$work/set" --json --no-verification --no-update >"$work/trufflehog.jsonl" 2>"$work/trufflehog.err"
  reports+=("trufflehog=$work/trufflehog.jsonl")
fi
echo "## secrets: recall and false positives per class (nixgate, gitleaks ${GL_VERSION}, trufflehog ${TH_VERSION} --no-verification)"
echo
go run ./bench/secretsamples score -dir "$work/set" "${reports[@]}" 2>"$work/misses.txt"
echo
sed 's/^/    /' "$work/misses.txt"

# A second set nobody here wrote: the inputs of trufflehog's own detector
# pattern tests for these classes, read from its module at bench time
# (labels: the test wants results, or none). trufflehog is at home on it;
# its "negatives" include tokens its detectors decline by policy (HS256
# JWTs, an AWS key ID without its secret, strict format checks).
thdir=$(go mod download -json "github.com/trufflesecurity/trufflehog/v3@$TH_VERSION" 2>/dev/null | sed -n 's/.*"Dir": "\(.*\)",/\1/p' || true)
if [ -n "$thdir" ]; then
  go run ./bench/secretsamples external -o "$work/ext" -module "$thdir" >&2
  reports=()
  "$NIXGATE" secrets scan --all -f json -o "$work/ng-ext.json" "$work/ext" 2>/dev/null || true
  reports+=("nixgate=$work/ng-ext.json")
  if [ -n "$gitleaks" ]; then
    "$gitleaks" dir "$work/ext" --no-banner --exit-code 0 -l error -f json -r "$work/gl-ext.json"
    reports+=("gitleaks=$work/gl-ext.json")
  fi
  if [ -n "$trufflehog" ]; then
    "$trufflehog" filesystem "$work/ext" --json --no-verification --no-update >"$work/th-ext.jsonl" 2>/dev/null
    reports+=("trufflehog=$work/th-ext.jsonl")
  fi
  echo
  echo "### trufflehog's own detector pattern-test inputs (a set nobody here wrote)"
  echo
  go run ./bench/secretsamples score -dir "$work/ext" "${reports[@]}" 2>"$work/ext-misses.txt"
  echo
  sed 's/^/    /' "$work/ext-misses.txt"
fi
