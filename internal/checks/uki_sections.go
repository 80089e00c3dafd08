package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/uki"
)

// UKISections enforces R14's embedded parts (nixgate uki check).
var UKISections = &check.Check{
	ID:       "uki-sections",
	Title:    "The UKI does not embed a required section",
	Severity: check.High,
	Rules:    []string{"R14"},
	Why: "What the image does not embed is not signed: a UKI without .cmdline takes its command line from " +
		"the boot loader, one without .initrd takes an initrd from the disk, and nothing checks either.",
	Remediation: "Build the image with the kernel, the initrd, the command line and os-release embedded " +
		"(ukify build, or objcopy --add-section for each).",
	Scope:   check.ScopeUKI,
	Options: &uki.SectionsOptions{Required: []string{".linux", ".initrd", ".cmdline", ".osrel"}},
	Run:     uki.CheckSections,
}
