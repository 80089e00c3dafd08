# Development shell for people without flakes.
let
  # Impure: whichever nixpkgs the developer's NIX_PATH points at.
  pkgs = import <nixpkgs> { };
in
pkgs.mkShell {
  packages = [ pkgs.cargo pkgs.rustc ];
}
