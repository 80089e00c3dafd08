package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/kconfig"
)

// KconfigProfileOptions configures the kconfig-profile check.
type KconfigProfileOptions struct {
	Files      []string `toml:"files" doc:"profile files (TOML) of your own; they may extend, override and mute the built-in profiles"`
	MinVersion string   `toml:"min-version" doc:"oldest kernel that may lack options of later releases (empty: each profile's)"`
}

// KconfigProfile enforces R12 with the user's own profiles.
var KconfigProfile = &check.Check{
	ID:       "kconfig-profile",
	Title:    "Kernel fails a rule of your own kernel profile",
	Severity: check.High,
	Rules:    []string{"R12"},
	Why: "A project's own kernel profile states what its kernel must be, with the built-in rules it keeps, " +
		"the ones it overrides and the ones it mutes with a reason; a kernel that fails it is not the one " +
		"that was reviewed.",
	Remediation: "Set the option to what the profile expects, or change the profile in a reviewed change.",
	Scope:       check.ScopeKconfig,
	Disabled:    true,
	Options:     &KconfigProfileOptions{},
	Run: func(ctx context.Context, p *check.Pass) error {
		o := p.Options.(*KconfigProfileOptions)
		return kconfig.RunProfileCheck(ctx, p, kconfig.ProfileRun{Profiles: o.Files, MinVersion: o.MinVersion})
	},
}
