package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/kconfig"
)

// KconfigKSPPOptions configures the kconfig-kspp check.
type KconfigKSPPOptions struct {
	MinVersion string `toml:"min-version" doc:"oldest kernel that may lack options of later releases (empty: the profile's, 6.12)"`
}

// KconfigKSPP enforces R12 with the Kernel Self Protection Project's
// recommended settings.
var KconfigKSPP = &check.Check{
	ID:       "kconfig-kspp",
	Title:    "Kernel misses a KSPP recommended setting",
	Severity: check.High,
	Rules:    []string{"R12"},
	Why: "The Kernel Self Protection Project's recommended settings remove whole bug classes and the " +
		"attack surface exploits rely on; a kernel that misses one, on the configuration, the command line " +
		"or at run time, is easier to exploit than it needs to be.",
	Remediation: "Apply the recommended value (https://kspp.github.io/Recommended_Settings) in the kernel " +
		"configuration, command line or sysctl file; mute a rule that cannot apply in a profile of your " +
		"own that extends kspp, with a reason.",
	Scope:    check.ScopeKconfig,
	Disabled: true,
	Options:  &KconfigKSPPOptions{},
	Run: func(ctx context.Context, p *check.Pass) error {
		o := p.Options.(*KconfigKSPPOptions)
		return kconfig.RunProfileCheck(ctx, p, kconfig.ProfileRun{Profiles: []string{"kspp"}, MinVersion: o.MinVersion})
	},
}
