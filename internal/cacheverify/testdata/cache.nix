# Store paths for nixgate's cache verify tests, built with busybox-static
# only. The test copies /bin/busybox into ./bb next to this file.
{ system ? builtins.currentSystem }:
let
  bb = builtins.path { path = ./bb; name = "busybox"; };
  mk = name: script: derivation {
    inherit name system;
    builder = "${bb}/busybox";
    args = [ "sh" "-c" "export PATH=${bb}; busybox mkdir -p $out; ${script}" ];
  };
  # A directory with a file and a subdirectory of three files: the NAR
  # mutations rename, reorder and pad these entries.
  plain = name: mk name ''
    echo ${name} > $out/data
    busybox mkdir $out/d
    echo a > $out/d/a; echo b > $out/d/b; echo c > $out/d/c
  '';
  names = [
    "sig-abc" "sig-ab" "sig-bc" "sig-a" "sig-none" "sig-a-x" "sig-dup" "sig-respelled"
    "forged" "forged-narsize" "narsize-plus" "narsize-minus" "nar-flip" "filehash" "filesize"
    "label-zstd" "label-lz4" "truncated" "padding" "unsorted" "duplicate" "dotdot" "slash"
    "deep" "trailing" "url-dotdot" "url-absolute" "renamed" "malformed"
  ];
in rec {
  lib = mk "lib" "echo lib > $out/lib.txt";
  app = mk "app" "echo ${lib}/lib.txt > $out/uses";
  gone = mk "gone" "echo gone > $out/x";
  needs-gone = mk "needs-gone" "echo ${gone} > $out/uses";
  # A store path written as a string: not an input, so Nix records no
  # reference, but the NAR mentions it.
  hidden = mk "hidden" "echo /nix/store/00000000000000000000000000000000-ghost > $out/x";
} // builtins.listToAttrs (map (n: { name = n; value = plain n; }) names)
