package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/kconfig"
)

// KconfigInput enforces R12 on the inputs of nixgate kconfig themselves.
var KconfigInput = &check.Check{
	ID:       "kconfig-input",
	Title:    "Kernel configuration does not say what the kernel is built with",
	Severity: check.High,
	Rules:    []string{"R12"},
	Why: "A gate judges the file it is given; when that file is a fragment (options it leaves out take " +
		"their Kconfig defaults), repeats an option, or has a header that claims another architecture or an " +
		"older kernel than its options prove, the kernel that is built differs from the one judged, and " +
		"version- or architecture-gated rules can be switched off by editing a comment.",
	Remediation: "Check the complete .config that `make olddefconfig` writes (not a fragment), fix the " +
		"header or regenerate the file, and give each option once; for sysctl files, set each key once.",
	Scope: check.ScopeKconfig,
	Run:   kconfig.RunInputCheck,
}
