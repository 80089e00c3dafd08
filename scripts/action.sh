#!/usr/bin/env bash
# The steps of action.yml (the composite GitHub Action), kept in one script
# so that they are linted, tested on this machine (internal/cli's
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
  summary="${GITHUB_STEP_SUMMARY:-$RUNNER_TEMP/nixgate-summary.md}"
  args+=(--sarif "$sarif" --junit "$junit" --markdown "$RUNNER_TEMP/nixgate.md")
  # Extra arguments are split on white space, never evaluated.
  if [ -n "${NIXGATE_ARGS:-}" ]; then
    read -r -a extra <<<"$NIXGATE_ARGS"
    args+=("${extra[@]}")
  fi
  set +e
  "$bin/nixgate" "${args[@]}"
  code=$?
  set -e
  [ -f "$RUNNER_TEMP/nixgate.md" ] && cat "$RUNNER_TEMP/nixgate.md" >>"$summary"
  {
    echo "exit-code=$code"
    [ -f "$sarif" ] && echo "sarif=$sarif"
    [ -f "$junit" ] && echo "junit=$junit"
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
