# One derivation per nondeterminism class that nixgate rebuild's
# variations expose (builders 2..N differ from the first), each built with
# busybox-static only, and one that stays the same whatever varies.
{ system ? builtins.currentSystem, slowSeconds ? 30, nonce ? "" }:
let
  bb = builtins.path { path = ./bb; name = "busybox"; };
  mk = name: script: derivation {
    inherit name system;
    builder = "${bb}/busybox";
    args = [ "sh" "-c" "export PATH=${bb}; busybox mkdir -p $out; cd $NIX_BUILD_TOP; ${script}" ];
  };
in {
  # The same bytes on every builder, whatever varies.
  deterministic = mk "deterministic" ''
    echo 'hello, reproducible world' > $out/hello.txt
    busybox printf '\x00\x01binary\x02' > $out/data.bin
    busybox ln -s hello.txt $out/link
  '';
  # time: a build stamp in seconds (`date +%s`).
  epoch = mk "epoch" "busybox date +%s > $out/stamp";
  # time: a file's modification time in a tar header.
  tarball = mk "tarball" ''
    echo "the same content" > notes.txt
    busybox tar -cf $out/notes.tar notes.txt
  '';
  # time: seconds since boot (the time namespace's shifted clocks).
  uptime = mk "uptime" "busybox cut -d' ' -f1 /proc/uptime > $out/uptime";
  # cores: NIX_BUILD_CORES in a make command line.
  cores = mk "cores" ''echo "make -j$NIX_BUILD_CORES all" > $out/build-command'';
  # cpus: the CPUs the build may use.
  cpus = mk "cpus" "busybox nproc > $out/nproc";
  # build dir: the build directory, as a compiler records it.
  builddir = mk "builddir" ''echo "compiled in $(pwd)/src" > $out/debug-info'';
  # kernel: the kernel release.
  kernel = mk "kernel" "busybox uname -r > $out/uname";
  # time zone: the epoch in local time.
  timezone = mk "timezone" "busybox date -d @0 > $out/epoch-local";
  # file order: a directory listing in readdir order.
  fileorder = mk "fileorder" ''
    busybox mkdir d
    for i in 01 02 03 04 05 06 07 08 09 10 11 12; do : > d/f$i; done
    busybox find d > $out/listing
  '';
  # random: bytes from /dev/urandom.
  random = mk "random" "busybox head -c 16 /dev/urandom | busybox od -An -tx1 | busybox tr -d ' \\n' > $out/seed";
  # Two outputs: out is the same everywhere, dev is not (cores).
  multi = derivation {
    name = "multi";
    inherit system;
    outputs = [ "out" "dev" ];
    builder = "${bb}/busybox";
    args = [ "sh" "-c" "export PATH=${bb}; busybox mkdir -p $out $dev; echo same > $out/lib.txt; echo \"jobs=$NIX_BUILD_CORES\" > $dev/config.h" ];
  };
  # A build that fails only where NIX_BUILD_CORES is 1 (builder b).
  onesided = mk "onesided" ''
    echo "building with $NIX_BUILD_CORES cores"
    if [ "$NIX_BUILD_CORES" = 1 ]; then echo "this build needs two cores" >&2; exit 7; fi
    echo ok > $out/result
  '';
  # A fixed-output derivation whose output does not have its hash.
  fod = derivation {
    name = "fod";
    inherit system;
    builder = "${bb}/busybox";
    outputHashMode = "flat";
    outputHashAlgo = "sha256";
    outputHash = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    args = [ "sh" "-c" "echo not-empty > $out" ];
  };
  # A slow build (for the heartbeat and the signal tests; --arg
  # slowSeconds N).
  slow = mk "slow-${toString slowSeconds}" "echo sleeping; busybox sleep ${toString slowSeconds}; echo done > $out/done";
  # A stamp of 3-second resolution: the same on two builders that start
  # together, different on a later run (what only the history catches).
  coarse = mk "coarse" "echo $(( $(busybox date +%s) / 3 )) > $out/stamp";
  # For a remote builder that builds in a store shared with other tests:
  # fresh derivations (--argstr nonce X), one the same everywhere and one
  # that depends on NIX_BUILD_CORES.
  remote = {
    same = mk "remote-same-${nonce}" "echo same > $out/same";
    cores = mk "remote-cores-${nonce}" ''echo "make -j$NIX_BUILD_CORES" > $out/build-command'';
  };
}
