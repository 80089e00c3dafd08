package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/kconfig"
)

// KconfigAnchorOptions configures the kconfig-anchor check.
type KconfigAnchorOptions struct {
	Init       string `toml:"init" doc:"the init= path the kernel command line must give (empty: init= must be present)"`
	MinVersion string `toml:"min-version" doc:"oldest kernel that may lack options of later releases (empty: the profile's, 6.12)"`
}

// KconfigAnchor enforces R12 with the anchor profile.
var KconfigAnchor = &check.Check{
	ID:       "kconfig-anchor",
	Title:    "Kernel fails the anchor image gate",
	Severity: check.High,
	Rules:    []string{"R12", "R14"},
	Why: "The image kernel is a gate, not best effort: no modules, no BPF JIT or unprivileged BPF, no " +
		"io_uring, no debugfs, lockdown in confidentiality mode, the self-protection basics on, and no " +
		"command-line parameter or sysctl that undoes them; the command line must start the image's init.",
	Remediation: "Set the option to the expected value in the kernel configuration (or the Nix " +
		"structuredExtraConfig that generates it), drop the parameter from the command line or fix the " +
		"sysctl, and rebuild; mute a rule that does not apply in a profile of your own, with a reason.",
	Scope:   check.ScopeKconfig,
	Options: &KconfigAnchorOptions{},
	Run: func(ctx context.Context, p *check.Pass) error {
		o := p.Options.(*KconfigAnchorOptions)
		return kconfig.RunProfileCheck(ctx, p, kconfig.ProfileRun{Profiles: []string{"anchor"}, MinVersion: o.MinVersion, Init: o.Init})
	},
}
