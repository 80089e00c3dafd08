// Package kconfig reads Linux kernel configurations (.config, .config.gz,
// /proc/config.gz), kernel command lines and sysctl settings, and checks
// them against profiles of rules written as data (TOML, embedded from
// profiles/): anchor (the image gate of DESIGN.md R12), kspp (the Kernel
// Self Protection Project's recommended settings) and khc (every check of
// kernel-hardening-checker 0.6.17.1, composed of one sub-profile per
// source of recommendations).
//
// Parsing is as strict as the kernel's: a line the kernel would ignore or
// read differently is an error with its line and column, never trimmed
// or dropped (see ParseConfig, ParseCmdline, ParseSysctl).
//
// # API for other gates
//
// The nixgate kconfig command and the repository check "kconfig" use this
// package through internal/checks; a gate that finds a kernel
// configuration and a command line elsewhere (the UKI gate reads them
// from an image's sections) uses the same few calls:
//
//	cfg, err := kconfig.ParseConfig(configBytes)   // plain or gzip
//	cmd, err := kconfig.ParseCmdline(cmdlineBytes) // trailing NULs allowed
//	in := &kconfig.Input{Config: cfg, Cmdline: cmd, ConfigPath: "vmlinuz:.config", CmdlinePath: "image.efi:.cmdline"}
//	if err := in.Validate(); err != nil { ... } // no or ambiguous architecture
//	rep, findings, err := kconfig.CheckProfiles(in, []string{"anchor"}, "uki-kconfig")
//
// CheckProfiles loads the named profiles (built-in names or TOML files),
// evaluates every rule and returns the per-rule Report (verdicts,
// n/a and skipped rules, option values) and check.Findings for the
// caller's check ID: one per failed rule, keyed by profile and rule so
// that baselines survive line shifts, plus the InputFindings (repeated
// options, a header that disagrees with the options). The caller reports
// them through its check.Pass with ReportSeverity.
package kconfig
