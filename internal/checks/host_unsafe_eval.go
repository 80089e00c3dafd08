package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
)

// HostUnsafeEval enforces R7 on a build host (nixgate host).
var HostUnsafeEval = &check.Check{
	ID:          "host-unsafe-eval",
	Title:       "Evaluation may run programs",
	Severity:    check.Medium,
	Rules:       []string{"R7"},
	Why:         "allow-unsafe-native-code-during-evaluation enables builtins.exec, so merely evaluating a Nix expression can run arbitrary programs outside any sandbox.",
	Remediation: "Set allow-unsafe-native-code-during-evaluation = false.",
	Scope:       check.ScopeHost,
	Run:         runHostUnsafeEval,
}

// runHostUnsafeEval reports allow-unsafe-native-code-during-evaluation.
func runHostUnsafeEval(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	if h.Config.Bool("allow-unsafe-native-code-during-evaluation") {
		p.Reportf(hostLoc(h, "allow-unsafe-native-code-during-evaluation"), "unsafe-eval=true", "allow-unsafe-native-code-during-evaluation = true (%s): evaluating an expression can run any program (builtins.exec)", hostWhere(h, "allow-unsafe-native-code-during-evaluation"))
	}
	return nil
}
