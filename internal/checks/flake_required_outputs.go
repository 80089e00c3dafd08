package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakeout"
)

// FlakeRequiredOutputs enforces the outputs the pipeline ships ([ci]
// required-outputs), checked on what Nix evaluates (nixgate flake
// outputs).
var FlakeRequiredOutputs = &check.Check{
	ID:       "flake-required-outputs",
	Title:    "A flake output the pipeline ships is missing",
	Severity: check.High,
	Rules:    []string{"R11", "R14"},
	Why: "The pipeline's contract names what the flake must build (the image, its dev shell, the checks); an output " +
		"renamed or dropped in a refactor ships nothing, or something else, while every gate that looks at " +
		"sources stays green. nix flake show --json says what the flake evaluates to.",
	Remediation: "Restore the output in flake.nix, or change [ci] required-outputs in a reviewed change.",
	Scope:       check.ScopeFlake,
	Run:         runFlakeRequiredOutputs,
}

func flakeInput(p *check.Pass) (*flakeout.Input, error) {
	in, ok := p.Input.(*flakeout.Input)
	if !ok || in == nil {
		return nil, fmt.Errorf("%s runs on a flake (nixgate flake)", p.Check.ID)
	}
	return in, nil
}

func runFlakeRequiredOutputs(_ context.Context, p *check.Pass) error {
	in, err := flakeInput(p)
	if err != nil || in.Outputs == nil {
		return err
	}
	loc := check.Location{Path: "flake.nix"}
	for _, attr := range in.Required {
		l := in.Outputs.Find(attr)
		switch {
		case l.Unknown != "":
			p.ReportSeverity(check.Medium, check.Finding{Location: loc, Key: "unknown:" + attr,
				Message: fmt.Sprintf("flake output %s cannot be confirmed: %s", attr, l.Unknown)})
		case !l.Found:
			msg := fmt.Sprintf("flake output %s is missing", attr)
			if near := in.Outputs.Nearest(attr, 3); len(near) > 0 {
				msg += " (the flake has " + strings.Join(near, ", ") + ")"
			}
			p.Reportf(loc, "missing:"+attr, "%s", msg)
		case l.Type == "" && isPackageLike(attr):
			p.Reportf(loc, "type:"+attr, "flake output %s is an attribute set, not a derivation", attr)
		}
	}
	return nil
}

// isPackageLike reports whether attr is under an output whose leaves are
// derivations (packages, devShells, checks).
func isPackageLike(attr string) bool {
	parts := flakeout.SplitAttr(attr)
	if len(parts) != 3 {
		return false
	}
	switch parts[0] {
	case "packages", "devShells", "checks":
		return true
	}
	return false
}
