# The anchor image kernel, with nixgate as a gate inside the kernel build (R12).
#
# Illustration only: this file is not evaluated by nixgate's tests. It shows where the
# static nixgate binary goes. Called from flake.nix as
#
#   anchorKernel = pkgs.callPackage ./kernel { nixgate = nixgate.packages.${system}.default; };
#
# The gate runs on the configuration as Kconfig resolved it (after `make olddefconfig`),
# not on the file we wrote: Kconfig silently drops an option whose dependencies are not
# met, or turns it into a module, and that silent drift is what must fail the build.
# nixgate is statically linked (CGO_ENABLED=0), needs no network and evaluates nothing,
# so it runs unchanged in the build sandbox.
{ lib, linuxManualConfig, linux_6_12, nixgate }:

let
  base = linux_6_12;
in
(linuxManualConfig {
  inherit (base) src version modDirVersion;
  configfile = ./hardened.config;
  allowImportFromDerivation = false;
}).overrideAttrs (old: {
  nativeBuildInputs = (old.nativeBuildInputs or [ ]) ++ [ nixgate ];

  # Fail the build, before compiling anything, when the resolved configuration drifts
  # from the gate: nixgate exits 1 and prints the table of failed rules to the build log.
  postConfigure = (old.postConfigure or "") + ''
    nixgate kconfig "$buildRoot/.config" --profile ${./gate.toml} --format text
  '';

  # Keep the machine-readable verdict next to the kernel, for the release's provenance.
  postInstall = (old.postInstall or "") + ''
    nixgate kconfig "$buildRoot/.config" --profile ${./gate.toml} --format json \
      --output "$out/kconfig-gate.json"
  '';
})
