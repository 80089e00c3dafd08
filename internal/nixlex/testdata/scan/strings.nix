# Strings, comments and paths that look like impure constructs but are not:
# <nixpkgs> builtins.fetchTarball "https://x" builtins.getEnv "HOME"
{ lib, pkgs, x, y, ... }:
let
  /* a block comment: import <nixpkgs> { }; builtins.currentTime */
  a = "<nixpkgs> and builtins.fetchGit { url = x; }";
  b = "escaped \${builtins.currentTime} and $${notInterp} and \" quote";
  c = "nested ${lib.concatStringsSep "," [ "x" "${toString 1}" ]} done";
  d = ''
    if [[ 1 = "$(</sys/kernel/kexec_loaded)" ]]; then echo '<nixpkgs>'; fi
    ''${escaped} '''quoted''' ''\n tab''\t $${literal}
    nix-build '<nixpkgs>' --impure -A hello
    ${lib.optionalString true ''
      inner ${"x" + "}"} text
    ''}
  '';
  e = ./relative/path.nix;
  f = ./dir/${a}/file-${b}.nix;
  g = ~/home/file;
  h = /absolute/path;
  i = https://example.org/x?y=1&z=2;
  j = { "${a}" = 1; ${b} = 2; }.${a};
  k = 1.5e3 + .5 + 2 - -3;
  l = x: y: x // y;
  m = a.b or c;
  n = 3 < 4 && 5 > 4;
  o = [ 1 ] ++ [ 2 ];
  q' = rec { x-y = 1; z' = x-y; };
  r = let inherit (pkgs) hello; inherit lib; in hello;
  s = { x ? 1, ... }@args: args;
  t = "a${"b${"c"}"}d";
  u = assert true; if a == b then null else ./.;
in
[ a b c d e f g h i j k l m n o q' r s t u ]
