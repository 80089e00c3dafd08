# Derivations for the --substitute-inputs tests, built with busybox-static
# only (see cases.nix). The input, dep, writes where it was built: the
# content of /marker/origin when that file exists (the test builds the
# binary cache's copy with --option extra-sandbox-paths /marker=DIR), else
# "built". So a builder's copy of dep says whether it was substituted from
# the test's binary cache or built there; target copies it.
{ system ? builtins.currentSystem }:
let
  bb = builtins.path { path = ./bb; name = "busybox"; };
  mk = name: script: derivation {
    inherit name system;
    builder = "${bb}/busybox";
    args = [ "sh" "-c" "export PATH=${bb}; busybox mkdir -p $out; ${script}" ];
  };
in rec {
  dep = mk "subst-dep" ''
    if [ -e /marker/origin ]; then busybox cat /marker/origin > $out/origin; else echo built > $out/origin; fi
  '';
  target = mk "subst-target" ''
    busybox cat ${dep}/origin > $out/origin
  '';
  # Depends on dep through target: with dep under test too, dep is in the
  # closure of an input.
  top = mk "subst-top" ''
    busybox cat ${target}/origin > $out/origin
  '';
}
