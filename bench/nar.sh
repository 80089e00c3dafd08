#!/usr/bin/env bash
# nar diff's depth against diffoscope on real-world pairs made here, in one
# run: a Go binary with and without -trimpath, two -ldflags -X build
# stamps, two Debian revisions of one package (apt-get download), a static
# library built with -g in two directories, a C program with __DATE__ and
# __TIME__, two .pyc of two source mtimes, two initramfs-like cpio archives.
# For each pair: the wall time of each (best of N), the ratio, the files
# and members each names, how many of diffoscope's nixgate names too, and
# the deepest member each reaches ("lib.a:foo.o:.debug_str" is depth 2).
# Usage: bash bench/nar.sh bin/nixgate
set -euo pipefail
NG=$(realpath "${1:?usage: bench/nar.sh NIXGATE_BINARY}")
command -v diffoscope >/dev/null || { echo "diffoscope is not installed (scripts/deps.sh bench installs it)"; exit 0; }
for t in go gcc ar tar xz cpio python3; do command -v $t >/dev/null || { echo "$t is not installed: skipping"; exit 0; }; done
T=$(mktemp -d /tmp/nixgate-bench-nar.XXXXXX)
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
RUNS=${BENCH_RUNS:-3}

# ------------------------------------------------------------------ pairs
mkpair() { mkdir -p "$T/$1"; }
# Go: a small program with a dependency-free main, as a release would be.
gosrc() {
  mkdir -p "$1"
  printf 'module example.com/hello\n\ngo 1.21\n' >"$1/go.mod"
  printf 'package main\n\nimport (\n\t"fmt"\n\t"net/http"\n)\n\nvar stamp = "none"\n\nfunc main() { fmt.Println("hello", stamp, http.StatusOK) }\n' >"$1/main.go"
}
gob() { (cd "$1" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build "${@:3}" -o "$2" .); }
mkpair go-trimpath; gosrc "$T/src/one/hello"
gob "$T/src/one/hello" "$T/go-trimpath/a"
gob "$T/src/one/hello" "$T/go-trimpath/b" -trimpath
mkpair go-ldflags
gob "$T/src/one/hello" "$T/go-ldflags/a" -trimpath "-ldflags=-X main.stamp=2026-12-01T08:00:00Z"
gob "$T/src/one/hello" "$T/go-ldflags/b" -trimpath "-ldflags=-X main.stamp=2026-12-02T09:30:00Z"
# Debian: the two newest revisions of a small package in the archive.
PKG=${BENCH_DEB:-openssh-sftp-server}
mapfile -t VERS < <(apt-cache madison "$PKG" 2>/dev/null | awk '{print $3}' | sort -V -r | head -2)
HAVE_DEB=0
if [ ${#VERS[@]} = 2 ]; then
  mkpair deb
  if (cd "$T/deb" && apt-get download -q -o APT::Sandbox::User=root "$PKG=${VERS[1]}" "$PKG=${VERS[0]}" >/dev/null 2>&1); then
    debs=("$T"/deb/*.deb); mv "${debs[0]}" "$T/deb/a.deb"; mv "${debs[1]}" "$T/deb/b.deb"; HAVE_DEB=1
  fi
fi
[ $HAVE_DEB = 1 ] || echo "  (no two revisions of $PKG could be downloaded: the .deb pair is left out)"
# A static library of a few objects, -g, in two build directories.
mkpair static-lib
for d in one two; do
  s="$T/build-$d/src"; mkdir -p "$s"
  for f in alpha beta gamma delta; do printf 'static int %s_t[64];\nint %s(int x) { for (int i = 0; i < 64; i++) %s_t[i] = x + i; return %s_t[x & 63]; }\n' $f $f $f $f >"$s/$f.c"; done
  (cd "$s" && gcc -g -O2 -c alpha.c beta.c gamma.c delta.c && ar rcD libabc.a alpha.o beta.o gamma.o delta.o)
  cp "$s/libabc.a" "$T/static-lib/$([ $d = one ] && echo a || echo b)"
done
# A C program with __DATE__ and __TIME__ (two SOURCE_DATE_EPOCHs).
mkpair c-date; mkdir -p "$T/csrc"
printf '#include <stdio.h>\nint main(void) { printf("built %%s %%s\\n", __DATE__, __TIME__); return 0; }\n' >"$T/csrc/main.c"
(cd "$T/csrc" && SOURCE_DATE_EPOCH=1796112000 gcc -O2 -o "$T/c-date/a" main.c && SOURCE_DATE_EPOCH=1796199600 gcc -O2 -o "$T/c-date/b" main.c)
# .pyc of a module whose source has two mtimes.
mkpair pyc
for i in a b; do
  mkdir -p "$T/py$i"; printf 'import os\n\ndef f():\n    return os.sep * 42\n' >"$T/py$i/mod.py"
  touch -d "$([ $i = a ] && echo '2026-11-30 10:00' || echo '2026-12-01 09:00')" "$T/py$i/mod.py"
  (cd "$T/py$i" && python3 -c "import py_compile; py_compile.compile('mod.py', cfile='mod.pyc', invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)")
  cp "$T/py$i/mod.pyc" "$T/pyc/$i.pyc"
done
# An initramfs-like cpio (newc) of a few files, one with a build stamp.
mkpair cpio
for i in a b; do
  r="$T/initrd$i"; mkdir -p "$r/etc" "$r/bin"
  cp "$T/go-ldflags/$i" "$r/bin/app"; printf '#!/bin/sh\nexec /bin/app\n' >"$r/init"
  echo "built $([ $i = a ] && echo 2026-11-30T10:00:00Z || echo 2026-12-01T09:00:00Z)" >"$r/etc/build-info"
  (cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc --quiet >"$T/cpio/$i.cpio")
done

# ------------------------------------------------------------------ compare
cat >"$T/names.py" <<'EOF'
# names.py NIXGATE_JSON DIFFOSCOPE_JSON: the members each names (the pair
# is two files: the file itself is depth 0, its members depth 1, theirs 2),
# how many of diffoscope's nixgate names too, and the deepest of each.
import json, re, sys
ng = json.load(open(sys.argv[1])); do = json.load(open(sys.argv[2]))
def norm(p): return p.replace("./", "").strip("/")
have, ngdepth = set(), 0
def walk(chs, prefix, depth):
    global ngdepth
    for c in chs:
        p = prefix + norm(c["path"])
        if p:
            have.add(p); ngdepth = max(ngdepth, depth)
        if c.get("content") and c["content"].get("members"):
            walk(c["content"]["members"], p + ":" if p else "", depth + 1)
walk(ng["changes"], "", 0)
# diffoscope names members by their paths, and an ELF section by the
# command that dumps it (readelf --hex-dump=.rodata {}, --debug-dump=info,
# objdump --disassemble for .text).
dump = {"info": ".debug_info", "line": ".debug_line", "rawline": ".debug_line", "str": ".debug_str", "abbrev": ".debug_abbrev",
        "aranges": ".debug_aranges", "frames": ".eh_frame", "loc": ".debug_loc", "ranges": ".debug_ranges"}
def member(s):
    m = re.search(r"--(?:hex|string)-dump=(\S+)", s)
    if m: return m.group(1)
    m = re.search(r"--debug-dump=(\w+)", s)
    if m: return dump.get(m.group(1))
    if s.startswith("objdump") and "--disassemble" in s: return ".text"
    if " " in s or "{" in s or s == "file list": return None
    return norm(s)
want, dodepth = set(), 0
def dwalk(node, prefix, depth):
    global dodepth
    for d in node.get("details", []) or []:
        m = member(d["source1"])
        if m is None:
            dwalk(d, prefix, depth)  # a view of the same file
            continue
        name = prefix + m
        want.add(name); dodepth = max(dodepth, depth)
        dwalk(d, name + ":", depth + 1)
dwalk(do, "", 1)
def covered(w): return w in have or any(h.startswith(w + ":") or h.startswith(w + "/") for h in have)
missing = sorted(w for w in want if not covered(w))
print(f"{len(have)}|{len(want)}|{len(want)-len(missing)}|{ngdepth}|{dodepth}|" + ", ".join(missing[:6]))
EOF
best() { # best wall time of $1 runs of the rest; the last run's exit ignored
  # $EPOCHREALTIME is read in this shell: a $(date ...) around each run
  # added its own fork and exec (1-2 ms) to every figure, a tenth of a
  # small pair's time.
  local n=$1 b=""; shift
  for _ in $(seq "$n"); do
    local s e t; s=$EPOCHREALTIME; "$@" >/dev/null 2>&1 || true; e=$EPOCHREALTIME
    t=$(python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.4f}')" "$s" "$e")
    if [ -z "$b" ] || python3 -c "import sys; sys.exit(not float(sys.argv[1])<float(sys.argv[2]))" "$t" "$b"; then b=$t; fi
  done
  echo "$b"
}
st=$(best 5 "$NG" version)
echo "nixgate's own start-up (nixgate version, best of 5): ${st}s"
echo "| pair | nixgate | diffoscope | ratio | named by nixgate | named by diffoscope | of those, by nixgate | member depth nixgate / diffoscope | summary cause |"
echo "|---|---|---|---|---|---|---|---|---|"
for p in go-trimpath go-ldflags deb static-lib c-date pyc cpio; do
  [ -d "$T/$p" ] || continue
  [ $p = deb ] && [ $HAVE_DEB = 0 ] && continue
  set -- "$T/$p"/*; a=$1; b=$2
  tn=$(best "$RUNS" "$NG" nar diff --format json --output "$T/$p.ng.json" "$a" "$b")
  td=$(best 1 diffoscope --json "$T/$p.do.json" "$a" "$b")
  # A quick pair gets diffoscope's best of as many runs as nixgate's.
  if python3 -c "import sys; sys.exit(not float(sys.argv[1]) < 2)" "$td"; then
    td2=$(best "$RUNS" diffoscope --json "$T/$p.do.json" "$a" "$b")
    td=$(python3 -c "import sys; print(min(sys.argv[1:], key=float))" "$td" "$td2")
  fi
  IFS='|' read -r nn nd both dn dd missing < <(python3 "$T/names.py" "$T/$p.ng.json" "$T/$p.do.json")
  cause=$(python3 -c "import json,sys; c=json.load(open(sys.argv[1]))['changes'][0].get('summary') or {}; print(c.get('kind','-') + ': ' + c.get('detail','')[:60])" "$T/$p.ng.json")
  ratio=$(python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.1f}')" "$td" "$tn")
  note=""; [ -n "$missing" ] && note=" (not named: $missing)"
  echo "| $p | ${tn}s | ${td}s | ${ratio}x | $nn | $nd | $both$note | $dn / $dd | $cause |"
done
