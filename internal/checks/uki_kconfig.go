package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/uki"
)

// UKIKconfig enforces R12 on the kernel a UKI embeds (nixgate uki check).
var UKIKconfig = &check.Check{
	ID:       "uki-kconfig",
	Title:    "The UKI's kernel configuration fails its hardening profile",
	Severity: check.High,
	Rules:    []string{"R12", "R14"},
	Why: "The configuration that matters is the one of the kernel that boots: read from the kernel " +
		"inside the signed image (CONFIG_IKCONFIG), it cannot differ from what was reviewed without " +
		"the gate seeing it.",
	Remediation: "Fix the kernel configuration and rebuild the image; build the kernel with " +
		"CONFIG_IKCONFIG=y so that the gate can read it (set require = true to insist).",
	Scope:   check.ScopeUKI,
	Options: &uki.KconfigOptions{Profiles: []string{"anchor"}},
	Run:     uki.CheckKconfig,
}
