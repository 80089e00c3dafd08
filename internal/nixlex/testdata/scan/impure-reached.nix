# The impure builtins however they are reached (issue 13's list).
{ pkgs, system ? null }:
let
  b = builtins;
  url = "https://example.org/tool.tar.gz";
  pinnedUrl = "https://github.com/o/r/archive/46db2e09e1d3f113a13c0d7b81e2f221c63b8ce9.tar.gz";
  inherit (builtins) currentTime getEnv;
  t1 = with builtins; currentTime;
  t2 = __currentTime;
  e1 = __getEnv "USER";
  e2 = b.getEnv "HOME";
  e3 = builtins."getEnv" "PATH";
  s1 = builtins.currentSystem;
  s2 = builtins.nixPath;
  s3 = builtins.findFile builtins.nixPath "nixpkgs";
  f1 = builtins.getFlake "github:NixOS/nixpkgs";
  f2 = builtins.getFlake "github:NixOS/nixpkgs/46db2e09e1d3f113a13c0d7b81e2f221c63b8ce9";
  p1 = builtins.storePath /nix/store/0c7rx1bqizvi4f0wmg8lxk3ym6gzq2rj-x;
  x1 = builtins.exec [ "date" ];
  v1 = builtins.fetchTarball url;
  v2 = fetchTarball { url = pinnedUrl; sha256 = "0000000000000000000000000000000000000000000000000000"; };
  # not reported: shadowed, attribute names, strings, a variable of its own
  n1 = with builtins; system;
  n2 = pkgs.currentSystem;
  n3 = { currentTime = 1; }.currentTime;
  n4 = "builtins.getEnv";
  n5 = with pkgs; currentTime;
  n6 = builtins ? getEnv;
  n7 = let currentSystem = "x86_64-linux"; in with builtins; currentSystem;
in
{ }
