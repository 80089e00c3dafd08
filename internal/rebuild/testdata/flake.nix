{
  description = "nixgate rebuild test cases";
  outputs = { self }: {
    packages.x86_64-linux = import ./cases.nix { system = "x86_64-linux"; };
  };
}
