#!/usr/bin/env bash
# Rebuild, NAR diff and NAR hashing against the tools a user would run.
#   (1) nixgate rebuild vs plain `nix-build --store` twice + `nix hash path`
#       compared by hand (same derivations, same run): overhead in %.
#   (2) nixgate nar diff vs diffoscope on the same pairs, small (real
#       unreproducible Nix outputs) and large (10,000 files, 200 MB):
#       speed ratio, coverage of every difference diffoscope reports, peak RSS.
#   (3) nixgate nar hash vs nix hash path on a 1 GB tree.
# Usage: bash bench/rebuild.sh bin/nixgate   (inputs are generated in a temp dir)
set -euo pipefail
NG=$(realpath "${1:?usage: bench/rebuild.sh NIXGATE_BINARY}")
HERE=${NIXGATE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
command -v nix >/dev/null || { echo "nix is not installed: skipping rebuild benchmarks"; exit 0; }
[ -x /bin/busybox ] || { echo "/bin/busybox missing: skipping rebuild benchmarks"; exit 0; }
HAVE_DIFFOSCOPE=1
command -v diffoscope >/dev/null || { HAVE_DIFFOSCOPE=0; echo "diffoscope is not installed (apt-get install diffoscope): benchmark (2) runs nixgate alone"; }
T=$(mktemp -d /tmp/nixgate-bench-rebuild.XXXXXX)
cleanup() { chmod -R u+w "$T" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
now() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.3f}')" "$1" "$2"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }
NIXOPTS=(--option sandbox true --option substituters '' --option builders '')

# ---------------------------------------------------------------- inputs
mkdir -p "$T/cases/bb"
cp "$HERE/internal/rebuild/testdata/cases.nix" "$T/cases/"
cp /bin/busybox "$T/cases/bb/"
# A heavier workload next to the five test cases: each derivation writes
# and checksums 300 MB and a few thousand small files (seconds of work).
cat > "$T/cases/work.nix" <<'EOF'
let
  c = import ./cases.nix { };
  bb = builtins.path { path = ./bb; name = "busybox"; };
  work = n: derivation {
    name = "work-${toString n}";
    system = builtins.currentSystem;
    builder = "${bb}/busybox";
    args = [ "sh" "-c" ''
      export PATH=${bb}; busybox mkdir -p $out/files
      busybox dd if=/dev/zero bs=1M count=300 2>/dev/null | busybox sha256sum > $out/sum
      i=0; while [ $i -lt 3000 ]; do echo "file ${toString n} $i" > $out/files/f$i; i=$((i+1)); done
    '' ];
  };
in { inherit (c) repro time builddir order gzip; w1 = work 1; w2 = work 2; w3 = work 3; }
EOF
ATTRS=(repro time builddir order gzip w1 w2 w3)
AFLAGS=(); for a in "${ATTRS[@]}"; do AFLAGS+=(-A "$a"); done

PARTS=${BENCH_PARTS:-1 2 3}   # e.g. BENCH_PARTS=2 to run one part
part() { [[ " $PARTS " == *" $1 "* ]]; }
if part 1; then
echo "== (1) rebuild overhead: nixgate rebuild vs nix-build --store twice + nix hash path"
plain_run() { # two stores built in parallel, as nixgate does, then hashed and compared by hand
  local d=$1
  nix-build --store "$d/p1" "${NIXOPTS[@]}" "$T/cases/work.nix" "${AFLAGS[@]}" --no-out-link >"$d/out1" 2>/dev/null &
  nix-build --store "$d/p2" "${NIXOPTS[@]}" "$T/cases/work.nix" "${AFLAGS[@]}" --no-out-link >"$d/out2" 2>/dev/null &
  wait
  local differ=0
  while read -r p; do
    h1=$(nix --extra-experimental-features nix-command hash path "$d/p1$p")
    h2=$(nix --extra-experimental-features nix-command hash path "$d/p2$p")
    [ "$h1" = "$h2" ] || differ=$((differ+1))
  done <"$d/out1"
  echo "$differ"
}
P=(); N=(); V=()
for i in 1 2 3; do
  mkdir -p "$T/plain$i"
  s=$(now); d=$(plain_run "$T/plain$i"); e=$(now); P+=("$(secs "$s" "$e")")
  # --no-vary: the same two builders as the plain run; default: builder b
  # varied (a later start past a second boundary, one core, one CPU, a
  # disorderfs build directory, ...), which a plain run does not do.
  s=$(now); "$NG" rebuild --no-record --no-vary "$T/cases/work.nix" "${AFLAGS[@]}" >"$T/rebuild$i.txt" 2>/dev/null || true; e=$(now); N+=("$(secs "$s" "$e")")
  s=$(now); "$NG" rebuild --no-record "$T/cases/work.nix" "${AFLAGS[@]}" >"$T/rebuildv$i.txt" 2>/dev/null || true; e=$(now); V+=("$(secs "$s" "$e")")
  chmod -R u+w "$T/plain$i"; rm -rf "$T/plain$i"
  echo "  run $i: plain ${P[-1]}s ($d outputs differ), nixgate --no-vary ${N[-1]}s ($(grep -c '^DIFF' "$T/rebuild$i.txt") outputs differ, explained), nixgate varied ${V[-1]}s ($(grep -c '^DIFF' "$T/rebuildv$i.txt") differ)"
done
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
mp=$(median "${P[@]}"); mn=$(median "${N[@]}"); mv=$(median "${V[@]}")
echo "  median: plain ${mp}s, nixgate --no-vary ${mn}s, overhead $(python3 -c "print(f'{($mn/$mp-1)*100:+.1f}%')") (target < 5%); varied ${mv}s ($(python3 -c "print(f'{($mv/$mp-1)*100:+.1f}%')"): the variations' own cost)"

fi

if part 2; then
echo "== (2) nar diff vs diffoscope"
# Small pairs: the four unreproducible outputs of the test cases.
nix-build --store "$T/s1" "${NIXOPTS[@]}" "$T/cases/cases.nix" -A time -A builddir -A order -A gzip --no-out-link >"$T/small" 2>/dev/null
nix-build --store "$T/s2" "${NIXOPTS[@]}" "$T/cases/cases.nix" -A time -A builddir -A order -A gzip --no-out-link >/dev/null 2>&1

# Large pair: 10,000 files, 200 MB; B is A with planted differences.
python3 - "$T/large" <<'EOF'
import os, random, sys, gzip, io, shutil
root = sys.argv[1]; random.seed(42)
a, b = os.path.join(root, "a"), os.path.join(root, "b")
words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
files = []
for i in range(10000):
    d = os.path.join(a, f"d{i % 100:02d}")
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, f"f{i:05d}" + (".txt" if i % 2 else ".bin"))
    if i % 2:
        n = random.randint(2000, 14000)
        lines = [" ".join(random.choice(words) for _ in range(8)) for _ in range(n // 50)]
        open(p, "w").write("\n".join(lines) + "\n")
    else:
        open(p, "wb").write(os.urandom(random.randint(20000, 52000)))
    files.append(p)
shutil.copytree(a, b, symlinks=True)
rel = lambda p: os.path.relpath(p, a)
def B(p): return os.path.join(b, rel(p))
for p in random.sample([f for f in files if f.endswith(".txt")], 40):       # build stamps
    s = open(B(p)).read().split("\n"); s.insert(3, "built Sat Nov 21 05:35:%02d UTC 2026" % random.randint(0, 59))
    open(B(p), "w").write("\n".join(s))
    s2 = open(p).read().split("\n"); s2.insert(3, "built Sat Nov 21 05:34:00 UTC 2026"); open(p, "w").write("\n".join(s2))
for p in random.sample([f for f in files if f.endswith(".txt")], 20):       # build paths
    open(p, "a").write("cwd /build/tmp.AAAA\n"); open(B(p), "a").write("cwd /build/tmp.BBBB\n")
for p in random.sample([f for f in files if f.endswith(".bin")], 30):       # binary bytes
    data = bytearray(open(B(p), "rb").read())
    for _ in range(3):
        data[random.randrange(len(data))] ^= 0xff
    open(B(p), "wb").write(bytes(data))
for i in range(5):                                                            # gzip header mtime
    body = ("gz member %d\n" % i).encode() * 100
    for side, mt in ((a, 1700000000), (b, 1700000100 + i)):
        with open(os.path.join(side, f"d{i:02d}", f"member{i}.gz"), "wb") as f:
            with gzip.GzipFile(filename=f"member{i}", fileobj=f, mode="wb", mtime=mt) as g:
                g.write(body)
for p in random.sample(files, 10):                                            # removed in B
    if os.path.exists(B(p)): os.remove(B(p))
for i in range(10):                                                           # added in B
    open(os.path.join(b, f"d{i:02d}", f"new{i}.txt"), "w").write("new\n")
for p in random.sample([f for f in files if f.endswith(".bin")], 5):         # exec bit
    if os.path.exists(B(p)): os.chmod(B(p), 0o755)
for i in range(5):                                                            # symlinks
    os.symlink(f"f{i:05d}.txt", os.path.join(a, f"d{i:02d}", "link"))
    os.symlink(f"f{i+1:05d}.txt", os.path.join(b, f"d{i:02d}", "link"))
EOF
# Store-like metadata (as in /nix/store): no mtime differences.
find "$T/large" -exec touch -h -d @1 {} +
echo "  large pair: $(find "$T/large/a" -type f | wc -l) files, $(du -sm "$T/large/a" | cut -f1) MB per side"

# compare NIXGATE_JSON DIFFOSCOPE_JSON: every file (and archive member)
# diffoscope reports must be among nixgate's changes.
cat > "$T/cover.py" <<'EOF'
import json, sys
ng = json.load(open(sys.argv[1])); dj = json.load(open(sys.argv[2]))
have = set()
def walk(chs, prefix):
    for c in chs:
        p = prefix + c["path"].lstrip("/")
        have.add(p)
        if c.get("content") and c["content"].get("members"):
            walk(c["content"]["members"], p + "!")
walk(ng["changes"], "")
root = dj["source1"].rstrip("/") + "/"
want = set()
def dwalk(node, prefix):
    for d in node.get("details", []) or []:
        s = d["source1"]
        if s == "file list":
            # Entries on both sides of the list's diff only moved (the
            # list's last line gained a newline): not a difference.
            dirp = prefix[:-1] + "/" if prefix else ""
            side = {"+": set(), "-": set()}
            for l in (d.get("unified_diff") or "").splitlines():
                if l[:1] in "+-" and not l.startswith(("+++", "---", "@@")):
                    side[l[0]].add(l[1:].strip())
            for n in side["+"] ^ side["-"]:
                want.add(dirp + n)
            continue
        if s.startswith(root):
            r = s[len(root):]
            want.add(r); dwalk(d, r + "!")
        elif prefix and " " not in s and "(" not in s and "{" not in s:
            m = s.split("/")[-1] if "/" in s else s
            want.add(prefix + m); dwalk(d, prefix + m + "!")
dwalk(dj, "")
missing = sorted(w for w in want if w and w not in have and not any(h.startswith(w + "/") for h in have))
print(f"{len(want)} differences reported by diffoscope, {len(missing)} missing from nixgate" + (": " + ", ".join(missing[:10]) if missing else ""))
EOF

rss() { awk '/Maximum resident set size/ {printf "%.0f", $6/1024}' "$1"; }
# timed RUNS OUT -- CMD...: the best wall time of RUNS runs (the machine is
# shared), /usr/bin/time -v of the last run in OUT.time.
timed() {
  local runs=$1 out=$2 b="" s e t; shift 3
  for _ in $(seq "$runs"); do
    s=$(now); /usr/bin/time -v -o "$out.time" "$@" >/dev/null 2>"$out.err" || true; e=$(now); t=$(secs "$s" "$e")
    if [ -z "$b" ] || python3 -c "import sys; sys.exit(not float(sys.argv[1])<float(sys.argv[2]))" "$t" "$b"; then b=$t; fi
  done
  echo "$b"
}
pair() { # name A B RUNS
  local name=$1 a=$2 b=$3 runs=$4
  tn=$(timed "$runs" "$T/$name.ng" -- "$NG" nar diff --format json --output "$T/$name.ng.json" "$a" "$b"); rn=$(rss "$T/$name.ng.time")
  if [ $HAVE_DIFFOSCOPE = 1 ]; then
    td=$(timed "$runs" "$T/$name.do" -- diffoscope --json "$T/$name.do.json" "$a" "$b"); rd=$(rss "$T/$name.do.time")
    echo "  $name: nixgate ${tn}s ${rn} MB, diffoscope ${td}s ${rd} MB, nixgate $(ratio "$td" "$tn")x faster; $(if [ -s "$T/$name.do.json" ]; then python3 "$T/cover.py" "$T/$name.ng.json" "$T/$name.do.json"; else echo "diffoscope wrote no report: $(tail -n 2 "$T/$name.do.err" | tr '\n' ' ')"; fi)"
  else
    echo "  $name: nixgate ${tn}s ${rn} MB (diffoscope absent)"
  fi
}
while read -r p; do pair "small-${p##*-}" "$T/s1$p" "$T/s2$p" 5; done <"$T/small"
pair large "$T/large/a" "$T/large/b" 1
rm -rf "$T/large"
fi

if part 3; then
echo "== (3) NAR hash of a 1 GB tree: nixgate nar hash vs nix hash path"
# A mixed tree: large files (several mapping windows), 1 MiB files,
# medium files and many small ones, executables, symlinks, empty files
# and directories.
python3 - "$T/gb" <<'EOF'
import os, sys, random
root = sys.argv[1]; random.seed(7)
def w(p, n, mode=0o644):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(os.urandom(n))
    os.chmod(p, mode)
for i in range(8):                                   # 8 x 64 MiB
    w(f"{root}/large/blob{i}", 64 << 20)
for i in range(256):                                 # 256 x 1 MiB
    w(f"{root}/lib/d{i % 16:02d}/lib{i:03d}.so", 1 << 20, 0o755 if i % 4 == 0 else 0o644)
for i in range(1000):                                # 1,000 x 128 KiB
    w(f"{root}/share/d{i % 50:02d}/m{i:04d}.dat", 128 << 10)
for i in range(20000):                               # 20,000 small files, 0-8 KiB
    w(f"{root}/src/d{i % 200:03d}/s{i:05d}.txt", random.randint(0, 8192), 0o755 if i % 50 == 0 else 0o644)
for i in range(200):
    os.symlink(f"../d{(i + 1) % 200:03d}/s{i:05d}.txt", f"{root}/src/d{i:03d}/link")
    os.makedirs(f"{root}/empty/e{i:03d}")
EOF
ROUNDS=${BENCH_ROUNDS:-9}
echo "  tree: $(find "$T/gb" -type f | wc -l) files, $(du -sm "$T/gb" | cut -f1) MB; warm page cache; $ROUNDS interleaved rounds"
# run OUT CMD...: wall and CPU (user+sys) seconds of one run, stdout in OUT.
run() { local out=$1; shift; /usr/bin/time -f "%e %U %S" -o "$out.time" "$@" >"$out"; awk '{printf "%s %.2f\n", $1, $2+$3}' "$out.time"; }
NIXHASH=(nix --extra-experimental-features nix-command hash path)
"$NG" nar hash "$T/gb" >/dev/null; "${NIXHASH[@]}" "$T/gb" >/dev/null   # warm the page cache
WN=(); CN=(); WX=(); CX=()
for i in $(seq "$ROUNDS"); do   # alternate which tool goes first
  if [ $((i % 2)) = 1 ]; then read -r w c < <(run "$T/h.ng" "$NG" nar hash "$T/gb"); WN+=("$w"); CN+=("$c"); fi
  read -r w c < <(run "$T/h.nix" "${NIXHASH[@]}" "$T/gb"); WX+=("$w"); CX+=("$c")
  if [ $((i % 2)) = 0 ]; then read -r w c < <(run "$T/h.ng" "$NG" nar hash "$T/gb"); WN+=("$w"); CN+=("$c"); fi
  cmp -s "$T/h.ng" "$T/h.nix" || { echo "  HASHES DIFFER: nixgate $(cat "$T/h.ng"), nix $(cat "$T/h.nix")"; exit 1; }
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
rng() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd- ; }
mn=$(med "${WN[@]}"); mx=$(med "${WX[@]}")
echo "  nixgate:        median ${mn}s wall (range $(rng "${WN[@]}") s), CPU $(med "${CN[@]}")s"
echo "  nix hash path:  median ${mx}s wall (range $(rng "${WX[@]}") s), CPU $(med "${CX[@]}")s"
echo "  nixgate $(ratio "$mx" "$mn")x as fast as nix hash path (target >= 1x; same hash: $(cat "$T/h.ng"))"
fi
