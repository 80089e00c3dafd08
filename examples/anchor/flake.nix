{
  description = "anchor: a minimal hardened OS image";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";
  # A registry lookup: resolved through the updater's flake registry.
  inputs.flake-utils.url = "flake-utils";

  outputs = { self, nixpkgs, flake-utils }: {
    packages.x86_64-linux.default = nixpkgs.legacyPackages.x86_64-linux.hello;
  };
}
