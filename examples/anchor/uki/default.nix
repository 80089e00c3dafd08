# The anchor UKI: kernel, initrd (the init and the room policies) and command line in one
# PE image, with nixgate as a gate on the image before anything signs it (R14).
#
# Illustration only: this file is not evaluated by nixgate's tests; build.sh beside it
# does the same steps with Debian's packages, and the demo checks its output. Called
# from flake.nix as
#
#   anchorUki = pkgs.callPackage ./uki { inherit anchorKernel anchorInit; nixgate = ...; };
#
# CI builds and checks the image; signing is a separate offline ceremony
# (nixgate uki sign on the signing machine), never a step of this derivation.
{ runCommand, binutils, cpio, gzip, systemd, nixgate, anchorKernel, anchorInit }:

runCommand "anchor-uki" { nativeBuildInputs = [ binutils cpio gzip nixgate ]; } ''
  mkdir -p root/bin root/etc/anchor/rooms
  cp ${anchorInit}/bin/bay0 root/bin/bay0
  cp ${../policies/room.schema.json} root/etc/anchor/room.schema.json
  cp ${../policies/rooms}/*.toml root/etc/anchor/rooms/
  (cd root && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible) | gzip -n -9 > initrd

  stub=${systemd}/lib/systemd/boot/efi/linuxx64.efi.stub
  objcopy \
    --add-section .osrel=${./os-release} --change-section-vma .osrel=0x20000 \
    --add-section .cmdline=${./cmdline} --change-section-vma .cmdline=0x30000 \
    --add-section .initrd=initrd --change-section-vma .initrd=0x3000000 \
    --add-section .linux=${anchorKernel}/bzImage --change-section-vma .linux=0x2000000 \
    "$stub" anchor.efi

  # The gate: the command line's init, the embedded policies against their schema,
  # the layout; exit 1 fails the build.
  nixgate uki check anchor.efi --policy ${./gate.toml}
  mkdir -p $out && cp anchor.efi $out/
''
