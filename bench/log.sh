#!/usr/bin/env bash
# The build-claim log (docs/log.md): throughput and proof latency, with
# Tessera's POSIX driver as the reference log engine on the same leaves.
#   (1) claims/s over HTTP on loopback, signature verification on, acknowledged
#       only when durable: SQLite and PostgreSQL (target >= 5,000/s).
#   (2) forged, replayed, malformed, oversized, unknown-key and bit-flipped
#       submissions sent under that load: all must be refused (a replay is an
#       idempotent no-op: nothing stored).
#   (3) log engine only: the same leaves appended in-process by nixgate's
#       sequencer (SQLite) and by Tessera v1.0.4 (POSIX), same concurrency: ratio.
#   (4) inclusion-proof latency on a log of LOG_PROOF_SIZE (1,000,000) entries:
#       p50/p99 of GET /proof/inclusion, every proof verified (target p99 <= 2 ms).
# Usage: bash bench/log.sh bin/nixgate
set -euo pipefail
NG=$(realpath "${1:?usage: bench/log.sh NIXGATE_BINARY}")
HERE=${NIXGATE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
N=${LOG_CLAIMS:-50000}
C=${LOG_CONCURRENCY:-256}
PROOF_SIZE=${LOG_PROOF_SIZE:-1000000}
T=$(mktemp -d /tmp/nixgate-bench-log.XXXXXX)
source "$HERE/bench/lib/logbench.sh"
trap 'set +e; stop 2>/dev/null; pg_stop; rm -rf "$T"' EXIT
build_tools
"$NG" log keygen bench.example/log -o "$T/log.key" >"$T/log.vkey"
"$T/logload" keys -dir "$T/k" -n 16
"$T/logload" gen -dir "$T/k" -n "$N" -out "$T/claims" -seed run1
"$T/logload" gen -dir "$T/k" -n 20000 -out "$T/claims-mix" -seed mix
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# (1) and (2) on SQLite, then PostgreSQL.
pg_start
for kind in sqlite postgres; do
  if [ $kind = sqlite ]; then db="sqlite://$T/log-$kind.db"; else db=$(pg_createdb bench_log); fi
  serve "$db" 18180 --rate 0
  r=$("$T/logload" submit -log http://127.0.0.1:18180 -in "$T/claims" -c "$C")
  echo "(1) $kind: $(json "$r" 'f"{acked} claims acknowledged in {seconds:.2f} s: {perSecond:.0f} claims/s, latency p50 {p50ms:.1f} ms p99 {p99ms:.1f} ms, failed {failed}"')"
  m=$("$T/logload" submit -log http://127.0.0.1:18180 -in "$T/claims-mix" -c "$C" -mix -dir "$T/k")
  echo "(2) $kind: $(json "$m" 'f"{acked} good claims at {perSecond:.0f}/s with bad submissions interleaved; refused: {badRejected}; accepted: {badAccepted}"')"
  stop
  "$NG" log fsck --db "$db" --vkey "$(cat "$T/log.vkey")" | sed "s/^/    fsck $kind: /"
done

# (3) the log engine alone, the same leaves: C concurrent clients each
# waiting for durability, then every leaf in flight at once.
e=$("$T/logload" engine -db "sqlite://$T/engine.db" -key "$T/log.key" -in "$T/claims" -c "$C")
e2=$("$T/logload" engine -db "sqlite://$T/engine2.db" -key "$T/log.key" -in "$T/claims" -c 8192)
if (cd "$HERE/bench/logtessera" && CGO_ENABLED=0 go build -o "$T/logtessera" . 2>"$T/tessera-build.log"); then
  x=$("$T/logtessera" -leaves "$T/claims" -dir "$T/tessera" -c "$C" 2>"$T/tessera.log")
  x2=$("$T/logtessera" -leaves "$T/claims" -dir "$T/tessera2" -c 0 2>>"$T/tessera.log")
  ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
  echo "(3) engine, $N leaves, $C concurrent clients waiting for durability: nixgate (SQLite) $(json "$e" 'f"{perSecond:.0f}"')/s, Tessera v1.0.4 POSIX $(json "$x" 'f"{perSecond:.0f}"')/s: ratio $(ratio "$(json "$e" perSecond)" "$(json "$x" perSecond)")x"
  echo "    every leaf in flight: nixgate $(json "$e2" 'f"{perSecond:.0f}"')/s (8192 clients), Tessera $(json "$x2" 'f"{perSecond:.0f}"')/s (all futures, then awaited): ratio $(ratio "$(json "$e2" perSecond)" "$(json "$x2" perSecond)")x"
else
  echo "(3) Tessera v1.0.4 does not build here: $(tail -3 "$T/tessera-build.log")"; echo "    nixgate engine alone: $(json "$e" 'f"{perSecond:.0f}"')/s"
fi

# (4) proofs on a large log.
db="sqlite://$T/proofs.db"
f=$("$T/logload" fill -db "$db" -key "$T/log.key" -n "$PROOF_SIZE" -c 512 -seed fill)
echo "    filled $(json "$f" 'f"{size} entries in {seconds:.0f} s"')"
serve "$db" 18181 --rate 0
for pass in "first (tiles read from the database)" "second (tiles cached)"; do
  p=$("$T/logload" proofs -log http://127.0.0.1:18181 -n 20000 -c 4)
  echo "(4) inclusion proofs in a tree of $(json "$p" 'f"{treeSize}: {verified} verified, p50 {p50ms:.3f} ms, p99 {p99ms:.3f} ms, max {maxms:.1f} ms"'), $pass pass"
done
stop
p=$("$T/logload" proofs -db "$db" -key "$T/log.key" -n 20000)
echo "    in process (Server.InclusionProof, no HTTP): $(json "$p" 'f"first pass p50 {cold_p50ms:.3f} ms p99 {cold_p99ms:.3f} ms; second pass p50 {warm_p50ms:.3f} ms p99 {warm_p99ms:.3f} ms"')"
