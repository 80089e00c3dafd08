# Derivations for nixgate's rebuild tests, built with busybox-static only.
# The test copies /bin/busybox into ./bb next to this file; importing it
# with builtins.path also copies it into a chroot store given with --store.
{ system ? builtins.currentSystem }:
let
  bb = builtins.path { path = ./bb; name = "busybox"; };
  mk = name: script: derivation {
    inherit name;
    inherit system;
    builder = "${bb}/busybox";
    args = [ "sh" "-c" "export PATH=${bb}; busybox mkdir -p $out; ${script}" ];
  };
  # The current time with microseconds (busybox date has no %N; adjtimex
  # reads the clock): two builders never print the same value.
  now = ''usec=$(busybox adjtimex | busybox awk '/tv_usec/ {printf "%06d", $2}'); '';
in {
  # The same bytes on every builder.
  repro = mk "repro" ''
    echo 'hello, reproducible world' > $out/hello.txt
    busybox printf '\x00\x01binary\x02' > $out/data.bin
    busybox ln -s hello.txt $out/link
  '';
  # A build stamp: date and time of the build.
  time = mk "time" (now + ''
    echo "version 1.0" > $out/version.txt
    echo "built $(busybox date -u '+%Y-%m-%d %H:%M:%S').$usec" >> $out/version.txt
  '');
  # The build directory, a fresh temporary directory under /build, embedded
  # like a compiler embeds its working directory.
  builddir = mk "builddir" ''
    d=$(busybox mktemp -d)
    echo "source: $d/src/main.c" > $out/debug-info.txt
  '';
  # The same lines in a random order (hash-table iteration order).
  order = mk "order" ''
    busybox seq 1 40 | busybox awk '{print "symbol_" $1}' | busybox shuf > $out/symbols.txt
  '';
  # A gzip whose header records the file's modification time, as GNU gzip
  # does (busybox gzip writes 0, so the header is written here): the build
  # time, shifted by up to an hour with the clock's microseconds so that
  # builders running in the same second still differ.
  gzip = mk "gzip" (now + ''
    echo "the same content on every builder" > notes.txt
    t=$(( $(busybox date +%s) - 1${"$"}{usec} % 3600 ))
    busybox gzip -c notes.txt > body.gz
    {
      busybox printf '\037\213\010\000'
      for s in 0 8 16 24; do busybox printf "\\$(busybox printf %o $(( (t >> s) & 255 )))"; done
      busybox printf '\000\003'
      busybox tail -c +11 body.gz
    } > $out/notes.txt.gz
  '');
  # A build that fails.
  fail = mk "fail" "echo failing on purpose >&2; exit 1";
}
