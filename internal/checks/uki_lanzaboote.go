package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/uki"
)

// UKILanzaboote enforces R14 on lanzaboote thin stubs (nixgate uki verify).
var UKILanzaboote = &check.Check{
	ID:       "uki-lanzaboote",
	Title:    "A lanzaboote stub's kernel or initrd does not match the hash it signs",
	Severity: check.Critical,
	Rules:    []string{"R14"},
	Why: "A lanzaboote stub signs only the SHA-256 of the kernel and initrd it loads from the ESP (.linuxh, " +
		".initrdh); a file that does not match is refused under Secure Boot and booted silently without it.",
	Remediation: "Reinstall the generation with lzbt so that the ESP holds the files the stub was built for, " +
		"and verify with --esp before rebooting.",
	Scope: check.ScopeUKI,
	Run:   uki.CheckLanzaboote,
}
