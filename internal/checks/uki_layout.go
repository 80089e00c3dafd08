package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/uki"
)

// UKILayout enforces R14's unambiguous image (nixgate uki check, verify).
var UKILayout = &check.Check{
	ID:       "uki-layout",
	Title:    "The UKI's sections overlap, repeat, or leave data outside the signature's layout",
	Severity: check.High,
	Rules:    []string{"R14"},
	Why: "Overlapping sections, a section name that appears twice, or data after the certificate table " +
		"make two readers see two different images under one signature: the stub boots one .cmdline while " +
		"a reviewer's tool shows another.",
	Remediation: "Rebuild the image with one section of each name, laid out without overlap (ukify or " +
		"objcopy with explicit VMAs), and sign it last, so that the certificate table ends the file.",
	Scope: check.ScopeUKI,
	Run:   uki.CheckLayout,
}
