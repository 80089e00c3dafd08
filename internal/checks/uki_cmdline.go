package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/uki"
)

// UKICmdline enforces R14's command line (nixgate uki check).
var UKICmdline = &check.Check{
	ID:       "uki-cmdline",
	Title:    "The UKI's command line lacks the required init or has a forbidden parameter",
	Severity: check.High,
	Rules:    []string{"R14", "R12"},
	Why: "The signed .cmdline decides what the kernel runs as init and which protections it keeps: " +
		"init=/bin/sh, rd.break or module.sig_enforce=0 in a signed image hands a shell or an unsigned " +
		"module to anyone at the console, with Secure Boot's blessing.",
	Remediation: "Fix the command line the image is built with (the kernel-params of the UKI recipe) and " +
		"rebuild; change init or deny in the policy only in a reviewed change.",
	Scope:   check.ScopeUKI,
	Options: uki.DefaultCmdlineOptions(),
	Run:     uki.CheckCmdline,
}
