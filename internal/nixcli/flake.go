package nixcli

// This file holds the evaluating gates' uses of nix (nixgate flake): the
// output tree of a flake and a command run in its dev shell.

import (
	"context"
	"io"
	"slices"
)

// FlakeShow returns what `nix flake show --json FLAKE` prints.
func FlakeShow(ctx context.Context, o HostOptions, flake string, log io.Writer) ([]byte, error) {
	args := append(slices.Clone(experimental), "flake", "show", "--json")
	args = append(append(args, o.args()...), flake)
	return run(ctx, log, nil, "nix", args...)
}

// Develop runs argv in the dev shell installable with `nix develop
// --ignore-environment` (the shell's environment alone, not the caller's)
// and returns its stdout.
func Develop(ctx context.Context, o HostOptions, installable string, argv []string, log io.Writer) ([]byte, error) {
	args := append(slices.Clone(experimental), "develop", "--ignore-environment")
	args = append(append(args, o.args()...), installable, "--command")
	return run(ctx, log, nil, "nix", append(args, argv...)...)
}
