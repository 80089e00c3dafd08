#!/usr/bin/env bash
# Binary-cache verification against `nix store verify` on the same cache,
# in the same run:
#   (1) --nar full on a file:// cache of about 2,000 paths (small and large
#       NARs, about 2 GB of NAR), signed by two of three keys:
#       nixgate cache verify --all --require 2 vs nix store verify -r
#       --sigs-needed 2 over the same paths; wall time ratio, peak RSS;
#   (2) the same directory served over HTTP on loopback (net/http):
#       nixgate --nar none vs nix store verify --no-contents (narinfo only);
#       and --nar full over HTTP.
# Nix's narinfo disk cache is pointed at a fresh directory for every run.
# Usage: bash bench/cache.sh bin/nixgate   (the corpus is built in a temp dir)
#   BENCH_CACHE_PATHS (default 2000), BENCH_CACHE_COMPRESSION (default zstd),
#   BENCH_RUNS (default 3; the best wall time is kept: the machine is shared)
set -euo pipefail
NG=$(realpath "${1:?usage: bench/cache.sh NIXGATE_BINARY}")
command -v nix >/dev/null || { echo "nix is not installed: skipping cache benchmarks"; exit 0; }
[ -x /bin/busybox ] || { echo "/bin/busybox missing: skipping cache benchmarks"; exit 0; }
N=${BENCH_CACHE_PATHS:-2000}
COMP=${BENCH_CACHE_COMPRESSION:-zstd}
RUNS=${BENCH_RUNS:-3}
T=$(mktemp -d /tmp/nixgate-bench-cache.XXXXXX)
HTTPD=""
cleanup() { [ -n "$HTTPD" ] && kill "$HTTPD" 2>/dev/null; chmod -R u+w "$T" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
X=(--extra-experimental-features nix-command)
now() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.2f}')" "$1" "$2"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.1f}')" "$1" "$2"; }
rss() { awk '/Maximum resident set size/ {printf "%.0f", $6/1024}' "$1"; }
# timed OUT -- CMD...: the best wall time of RUNS runs; /usr/bin/time -v of
# the best run in OUT.time, its exit code in OUT.rc. Every run must exit
# like the first (else the script stops).
timed() {
  local out=$1 b="" s e t rc first=""; shift 2
  for i in $(seq "$RUNS"); do
    export XDG_CACHE_HOME="$T/xdg.$RANDOM.$i"
    s=$(now); rc=0; /usr/bin/time -v "$@" </dev/null >"$out.out.tmp" 2>"$out.time.tmp" || rc=$?; e=$(now); t=$(secs "$s" "$e")
    [ -z "$first" ] && first=$rc
    if [ "$rc" != "$first" ]; then echo "run $i of $* exited $rc, the first $first" >&2; tail -5 "$out.time.tmp" >&2; exit 1; fi
    if [ -z "$b" ] || python3 -c "import sys; sys.exit(not float(sys.argv[1])<float(sys.argv[2]))" "$t" "$b"; then
      b=$t; mv "$out.time.tmp" "$out.time"; mv "$out.out.tmp" "$out.out"; echo "$rc" >"$out.rc"
    fi
  done
  echo "$b"
}

echo "== corpus: $N store paths, compression $COMP"
s=$(now)
python3 - "$T/src" "$N" <<'EOF'
# Small paths (a few text and binary files), some medium (12 MiB) and a few
# large (128 MiB) ones: about 2 GB of NAR for 2,000 paths. Half of every
# binary is random (incompressible), half repetitive.
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
os.makedirs(root)
def blob(size):
    half = size // 2
    return os.urandom(half) + (b"nixgate benchmark line\n" * (size // 23 + 1))[: size - half]
for i in range(n):
    d = os.path.join(root, f"p{i:05d}")
    os.makedirs(os.path.join(d, "bin"))
    os.makedirs(os.path.join(d, "share", "doc"))
    if i % 400 == 7:
        size = 128 << 20
    elif i % 25 == 3:
        size = 12 << 20
    else:
        size = rng.randint(8, 200) << 10
    with open(os.path.join(d, "bin", "prog"), "wb") as f:
        f.write(blob(size))
    os.chmod(os.path.join(d, "bin", "prog"), 0o755)
    for j in range(rng.randint(1, 8)):
        with open(os.path.join(d, "share", "doc", f"f{j}.txt"), "w") as f:
            f.write(f"path {i} file {j}\n" * rng.randint(1, 200))
    os.symlink("bin/prog", os.path.join(d, "run"))
EOF
du -sh "$T/src" | awk '{print "  source trees: " $1}'
mkdir -p "$T/keys"
for k in a b c; do
  nix "${X[@]}" key generate-secret --key-name "bench-$k" >"$T/keys/$k.sec"
  nix "${X[@]}" key convert-secret-to-public <"$T/keys/$k.sec" >"$T/keys/$k.pub"
done
KEYS="$(cat "$T/keys/a.pub") $(cat "$T/keys/b.pub") $(cat "$T/keys/c.pub")"
# One nix-store --add for all trees (no build needed), then one copy.
(cd "$T/src" && ls) | sed "s|^|$T/src/|" | xargs nix-store --store "$T/store" --add >"$T/paths"
wc -l <"$T/paths" | awk '{print "  store paths: " $1}'
export XDG_CACHE_HOME="$T/xdg.copy"
xargs nix "${X[@]}" copy --store "$T/store" --to "file://$T/cache?compression=$COMP&parallel-compression=true&secret-key=$T/keys/a.sec" <"$T/paths"
xargs nix "${X[@]}" store sign --store "file://$T/cache" --key-file "$T/keys/b.sec" <"$T/paths"
du -sh "$T/cache" | awk '{print "  cache on disk: " $1}'
python3 - "$T/cache" <<'EOF'
import glob, sys
total = sum(int(l.split()[1]) for f in glob.glob(sys.argv[1] + "/*.narinfo") for l in open(f) if l.startswith("NarSize:"))
print(f"  total NAR size: {total / 1e9:.2f} GB")
EOF
echo "  built in $(secs "$s" "$(now)")s"

echo "== (1) --nar full, file:// cache"
tn=$(timed "$T/ng-full" -- "$NG" cache verify "file://$T/cache" --all --require 2 --trusted-key "$(cat "$T/keys/a.pub")" --trusted-key "$(cat "$T/keys/b.pub")" --trusted-key "$(cat "$T/keys/c.pub")" --format json --output "$T/ng-full.json")
tx=$(timed "$T/nix-full" -- xargs -a "$T/paths" -s 1000000 nix "${X[@]}" store verify --store "file://$T/cache" -r --sigs-needed 2 --trusted-public-keys "$KEYS")
ok=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['extra']['counts'])" "$T/ng-full.json")
echo "  nixgate cache verify --nar full: ${tn}s, peak RSS $(rss "$T/ng-full.time") MB, exit $(cat "$T/ng-full.rc"), verdicts $ok"
echo "  nix store verify -r --sigs-needed 2: ${tx}s, peak RSS $(rss "$T/nix-full.time") MB, exit $(cat "$T/nix-full.rc")"
echo "  ratio (nix / nixgate): $(ratio "$tx" "$tn")x"

echo "== (2) the same cache over HTTP (a Go static file server on 127.0.0.1)"
# busybox httpd's small listen backlog drops connections under 16 parallel
# clients (a 1 s SYN retry); net/http's server keeps connections alive.
mkdir -p "$T/serve"
cat >"$T/serve/main.go" <<'EOF'
package main

import (
	"net"
	"net/http"
	"os"
)

func main() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	os.WriteFile(os.Args[2], []byte(l.Addr().String()), 0o644)
	http.Serve(l, http.FileServer(http.Dir(os.Args[1])))
}
EOF
(cd "$T/serve" && printf 'module serve\ngo 1.21\n' >go.mod && go build -o serve .)
"$T/serve/serve" "$T/cache" "$T/addr" &
HTTPD=$!
for _ in $(seq 50); do [ -s "$T/addr" ] && break; sleep 0.1; done
URL="http://$(cat "$T/addr")"
tn=$(timed "$T/ng-none" -- "$NG" cache verify "$URL" --paths "$T/paths" --nar none --require 2 --trusted-key "$(cat "$T/keys/a.pub")" --trusted-key "$(cat "$T/keys/b.pub")" --trusted-key "$(cat "$T/keys/c.pub")" --format json --output "$T/ng-none.json")
tx=$(timed "$T/nix-none" -- xargs -a "$T/paths" -s 1000000 nix "${X[@]}" store verify --store "$URL" -r --no-contents --sigs-needed 2 --trusted-public-keys "$KEYS")
echo "  nixgate cache verify --nar none: ${tn}s, peak RSS $(rss "$T/ng-none.time") MB, exit $(cat "$T/ng-none.rc")"
echo "  nix store verify -r --no-contents --sigs-needed 2: ${tx}s, peak RSS $(rss "$T/nix-none.time") MB, exit $(cat "$T/nix-none.rc")"
echo "  ratio (nix / nixgate): $(ratio "$tx" "$tn")x"
tn=$(timed "$T/ng-hfull" -- "$NG" cache verify "$URL" --paths "$T/paths" --require 2 --trusted-key "$(cat "$T/keys/a.pub")" --trusted-key "$(cat "$T/keys/b.pub")" --trusted-key "$(cat "$T/keys/c.pub")" --format json --output "$T/ng-hfull.json")
tx=$(timed "$T/nix-hfull" -- xargs -a "$T/paths" -s 1000000 nix "${X[@]}" store verify --store "$URL" -r --sigs-needed 2 --trusted-public-keys "$KEYS")
echo "  nixgate cache verify --nar full over HTTP: ${tn}s, peak RSS $(rss "$T/ng-hfull.time") MB, exit $(cat "$T/ng-hfull.rc")"
echo "  nix store verify -r --sigs-needed 2 over HTTP: ${tx}s, peak RSS $(rss "$T/nix-hfull.time") MB, exit $(cat "$T/nix-hfull.rc")"
echo "  ratio (nix / nixgate): $(ratio "$tx" "$tn")x"
