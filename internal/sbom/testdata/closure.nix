# Derivations for nixgate's SBOM and provenance tests. The builder is the
# host's static busybox, bind-mounted into the sandbox with
# `--option sandbox-paths /bin/busybox`, so that no store path depends on
# the busybox binary's bytes and the golden files hold on every machine.
let
  bb = "/bin/busybox";
  mk = name: deps: extra: derivation {
    inherit name;
    system = "x86_64-linux";
    builder = bb;
    args = [ "sh" "-c" ''
      ${bb} mkdir -p $out
      echo ${name} > $out/name
      ${builtins.concatStringsSep "\n" (map (d: "${bb} ln -s ${d} $out/dep-${d.name}") deps)}
      ${extra}
    '' ];
  };
  # A source added to the store, as a patch is: a build-time input only
  # (its bytes are copied, its path is not kept).
  patch = builtins.toFile "fix-build.patch" "--- a\n+++ b\n";
  zlib = mk "zlib-1.3.1" [ ] "";
  openssl = mk "openssl-3.0.15" [ zlib ] "";
  perlURI = mk "perl5.38.2-URI-5.21" [ ] "";
  curl = mk "curl-8.9.1" [ openssl zlib ] "";
  # Needed to build app, not kept by it.
  cmake = mk "cmake-3.30.5" [ zlib ] "";
in {
  inherit zlib openssl curl;
  app = mk "app-2.0" [ curl perlURI ] ''
    ${bb} cp ${patch} $out/fix-build.patch
    ${bb} test -e ${cmake}/name
  '';
}
