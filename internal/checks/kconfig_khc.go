package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/kconfig"
)

// KconfigKHCOptions configures the kconfig-khc check.
type KconfigKHCOptions struct {
	Profiles []string `toml:"profiles" doc:"khc, or some of its parts: khc-defconfig, khc-kspp, khc-author, khc-grsecurity, khc-clipos, khc-lockdown, khc-network"`
}

// KconfigKHC enforces R12 with every check of kernel-hardening-checker.
var KconfigKHC = &check.Check{
	ID:       "kconfig-khc",
	Title:    "Kernel fails a kernel-hardening-checker check",
	Severity: check.High,
	Rules:    []string{"R12"},
	Why: "kernel-hardening-checker's checks gather the recommendations of KSPP, grsecurity, CLIP OS, the " +
		"lockdown LSM, kernel maintainers and its author: the khc profile runs every one of them, with the " +
		"same verdicts, so a pipeline can gate on it without running the Python tool.",
	Remediation: "Apply the expected value, or select only the parts of khc that fit the system (the " +
		"check's profiles option) and mute the rest in a profile of your own, with a reason.",
	Scope:    check.ScopeKconfig,
	Disabled: true,
	Options:  &KconfigKHCOptions{Profiles: []string{"khc"}},
	Run: func(ctx context.Context, p *check.Pass) error {
		o := p.Options.(*KconfigKHCOptions)
		for _, ref := range o.Profiles {
			if ref != "khc" && !strings.HasPrefix(ref, "khc-") || !kconfig.IsBuiltin(ref) {
				return fmt.Errorf("profiles: %q is not khc or one of its parts", ref)
			}
		}
		return kconfig.RunProfileCheck(ctx, p, kconfig.ProfileRun{Profiles: o.Profiles})
	},
}
