#!/usr/bin/env bash
# The build-claim log under kill -9: LOG_CRASH_ROUNDS (5) rounds on SQLite
# and on PostgreSQL; each round starts the log, submits claims from 64
# concurrent clients, kills the server with SIGKILL at a random moment,
# restarts it, checks that every acknowledged claim is in the log at its
# acknowledged index (no loss, no gap) and runs `nixgate log fsck` (the
# root recomputed from the claims and the tiles equals the last checkpoint:
# no fork).
# Usage: bash bench/log-crash.sh bin/nixgate
set -euo pipefail
NG=$(realpath "${1:?usage: bench/log-crash.sh NIXGATE_BINARY}")
HERE=${NIXGATE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
ROUNDS=${LOG_CRASH_ROUNDS:-5}
T=$(mktemp -d /tmp/nixgate-bench-logcrash.XXXXXX)
source "$HERE/bench/lib/logbench.sh"
trap 'set +e; kill -9 "${SERVE_PID:-0}" 2>/dev/null; pg_stop; rm -rf "$T"' EXIT
build_tools
"$NG" log keygen bench.example/crash -o "$T/log.key" >"$T/log.vkey"
"$T/logload" keys -dir "$T/k" -n 8
pg_start
fails=0
for kind in sqlite postgres; do
  if [ $kind = sqlite ]; then db="sqlite://$T/crash.db"; else db=$(pg_createdb bench_crash); fi
  : >"$T/acks-$kind"
  total=0
  for r in $(seq "$ROUNDS"); do
    "$T/logload" gen -dir "$T/k" -n 20000 -out "$T/claims" -seed "$kind-$r"
    serve "$db" 18280 --rate 0
    "$T/logload" submit -log http://127.0.0.1:18280 -in "$T/claims" -c 64 -acks "$T/acks-$kind" >"$T/submit.json" 2>/dev/null &
    load=$!
    sleep "$(python3 -c 'import random; print(round(random.uniform(0.5, 2.0), 2))')"
    kill -9 "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true
    wait "$load" || true
    acked=$(wc -l <"$T/acks-$kind")
    serve "$db" 18280 --rate 0
    if c=$("$T/logload" check -log http://127.0.0.1:18280 -acks "$T/acks-$kind"); then
      ok="no acknowledged claim lost"
    else
      ok="LOST: $c"; fails=$((fails+1))
    fi
    stop
    if "$NG" log fsck --db "$db" --vkey "$(cat "$T/log.vkey")" >"$T/fsck.txt"; then fsck="fsck OK"; else fsck="FSCK FAILED: $(cat "$T/fsck.txt")"; fails=$((fails+1)); fi
    echo "$kind round $r: killed under load; $(json "$c" 'f"{acknowledged} acknowledged so far, tree size {treeSize}"' 2>/dev/null || echo "?"); $ok; $fsck"
  done
done
[ "$fails" = 0 ] || { echo "FAILED: $fails rounds lost claims or failed fsck"; exit 1; }
echo "kill -9: $((ROUNDS*2)) rounds, no acknowledged claim lost, no gap, no fork"
