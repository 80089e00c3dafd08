package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
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
	Run:         hostaudit.UnsafeEval,
}
