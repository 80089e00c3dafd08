{ args, lock, rev }:
let
  pkgs = import <nixpkgs> { };
  nixos = import <nixpkgs/nixos> { };
  src = builtins.fetchTarball "https://github.com/NixOS/nixpkgs/archive/nixos-25.05.tar.gz";
  src2 = fetchTarball {
    url = "https://example.org/tool.tar.gz";
  };
  src3 = builtins.fetchurl https://example.org/file.txt;
  repo = builtins.fetchGit {
    url = "https://github.com/example/repo";
    ref = "main";
  };
  tree = builtins.fetchTree { type = "github"; owner = "o"; repo = "r"; };
  stamp = builtins.currentTime;
  home = builtins.getEnv "HOME";
  # pinned: not reported
  ok1 = builtins.fetchTarball {
    url = "https://github.com/NixOS/nixpkgs/archive/46db2e09e1d3f113a13c0d7b81e2f221c63b8ce9.tar.gz";
    sha256 = "0000000000000000000000000000000000000000000000000000";
  };
  ok2 = builtins.fetchGit { url = "https://github.com/example/repo"; rev = "46db2e09e1d3f113a13c0d7b81e2f221c63b8ce9"; };
  ok3 = fetchTarball { inherit (lock) url; "sha256" = lock.narHash; };
  ok4 = pkgs.fetchurl { url = "https://x"; hash = "sha256-AAAA"; };
  ok5 = builtins.fetchTarball args;
  ok6 = builtins.fetchTree { type = "github"; owner = "o"; repo = "r"; inherit rev; };
  ok7 = pkgs.fetchGit;
in
pkgs.hello
