#!/usr/bin/env bash
# The steps of action.yml (the composite GitHub Action), kept in one script
# so that they are linted, tested on this machine (cmd/nixgate's
# TestActionSteps runs them with a GitHub-like environment) and never
# interpolate inputs into shell code: every input arrives as a variable.
#   action.sh build   build nixgate into $RUNNER_TEMP/nixgate-bin
#   action.sh run     run nixgate ci; write the summary and the step outputs
set -euo pipefail
: "${RUNNER_TEMP:?RUNNER_TEMP is not set (run inside GitHub Actions)}"
bin="$RUNNER_TEMP/nixgate-bin"
case "${1:-}" in
build)
  mkdir -p "$bin"
  export CGO_ENABLED=0
  if [ -n "${NIXGATE_VERSION:-}" ]; then
    case "$NIXGATE_VERSION" in
      v[0-9]*) ;;
      *) echo "::error title=nixgate::version must be a module version such as v0.4.0, not '$NIXGATE_VERSION'"; exit 2 ;;
    esac
    GOBIN="$bin" go install "github.com/nixgate/nixgate/cmd/nixgate@$NIXGATE_VERSION"
  else
    (cd "${ACTION_PATH:?}" && go build -trimpath -ldflags=-s -o "$bin/nixgate" ./cmd/nixgate)
  fi
  "$bin/nixgate" version
  ;;
run)
  args=(ci)
  [ -n "${NIXGATE_POLICY:-}" ] && args+=(--policy "$NIXGATE_POLICY")
  sarif="$RUNNER_TEMP/nixgate.sarif"
  junit="$RUNNER_TEMP/nixgate-junit.xml"
  markdown="$RUNNER_TEMP/nixgate.md"
  summary="${GITHUB_STEP_SUMMARY:-$RUNNER_TEMP/nixgate-summary.md}"
  rm -f "$sarif" "$junit" "$markdown"
  args+=(--sarif "$sarif" --junit "$junit" --markdown "$markdown")
  # Extra arguments are split on white space, never evaluated.
  if [ -n "${NIXGATE_ARGS:-}" ]; then
    read -r -a extra <<<"$NIXGATE_ARGS"
    args+=("${extra[@]}")
  fi
  set +e
  "$bin/nixgate" "${args[@]}"
  code=$?
  set -e
  # A step summary holds at most 1 MiB; nixgate caps the findings it
  # lists, and this keeps a summary of many gates within the limit.
  if [ -f "$markdown" ]; then
    if [ "$(wc -c <"$markdown")" -gt 1000000 ]; then
      head -c 990000 "$markdown" >>"$summary"
      printf '\n\n… (cut at GitHub'"'"'s 1 MiB step summary limit: the full summary is in %s)\n' "$markdown" >>"$summary"
    else
      cat "$markdown" >>"$summary"
    fi
  fi
  {
    echo "exit-code=$code"
    if [ -f "$sarif" ]; then echo "sarif=$sarif"; fi
    if [ -f "$junit" ]; then echo "junit=$junit"; fi
    if [ -f "$markdown" ]; then echo "markdown=$markdown"; fi
  } >>"${GITHUB_OUTPUT:-/dev/null}"
  # The last step fails the job; this one always succeeds so the SARIF
  # upload runs.
  exit 0
  ;;
*)
  echo "usage: action.sh build|run" >&2
  exit 2
  ;;
esac
