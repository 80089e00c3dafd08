# A derivation whose output references another, built with busybox-static
# only, for the test that feeds claims back to Nix as narinfo.
{ system ? builtins.currentSystem }:
let
  bb = builtins.path { path = ./bb; name = "busybox"; };
  mk = name: script: derivation {
    inherit name system;
    builder = "${bb}/busybox";
    args = [ "sh" "-c" "export PATH=${bb}; busybox mkdir -p $out; ${script}" ];
  };
in rec {
  dep = mk "claim-dep" "echo dep > $out/dep";
  out = mk "claim-out" "echo ${dep} > $out/ref";
}
