package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
)

// DevshellTools enforces the tools the dev shell must provide ([ci]
// devshell-tools), checked inside the shell (nixgate flake devshell).
var DevshellTools = &check.Check{
	ID:       "devshell-tools",
	Title:    "The dev shell lacks a tool the pipeline needs",
	Severity: check.High,
	Rules:    []string{"R3", "R13"},
	Why: "The dev shell is the pinned toolbox every contributor and the pipeline build with (sbsign, jq, tokei, " +
		"cargo-deny, ...); a tool it lacks is taken from whatever the machine has, unpinned and unreviewed, and the " +
		"same command gives different results on two machines. A program found only outside the Nix store is the " +
		"host's, not the shell's.",
	Remediation: "Add the package that provides the tool to the dev shell (packages or nativeBuildInputs of " +
		"devShells.<system>.default), or change [ci] devshell-tools in a reviewed change.",
	Scope: check.ScopeFlake,
	Run:   runDevshellTools,
}

func runDevshellTools(_ context.Context, p *check.Pass) error {
	in, err := flakeInput(p)
	if err != nil || in.Shell == nil {
		return err
	}
	loc := check.Location{Path: "flake.nix"}
	name := "the default dev shell"
	if in.Shell.Shell != "" {
		name = "the dev shell " + in.Shell.Shell
	}
	for _, tool := range in.Tools {
		where, ok := in.Shell.Provides(tool)
		switch {
		case ok:
		case where != "":
			p.Reportf(loc, "host:"+tool, "%s does not provide %s: it resolves to %s, outside the Nix store (the host's)", name, tool, where)
		default:
			p.Reportf(loc, "missing:"+tool, "%s does not provide %s", name, tool)
		}
	}
	return nil
}
