package checks

import (
	"context"
	"slices"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/schema"
	"github.com/nixgate/nixgate/internal/uki"
)

// UKIPolicyFilesOptions tunes uki-policy-files.
type UKIPolicyFilesOptions struct {
	Required []string              `toml:"required" doc:"initrd paths (globs, relative to its root) or section names of policy files the image must embed"`
	Mappings []PolicySchemaMapping `toml:"mappings" doc:"files in the image and their schema, also in the image: {files = \"etc/anchor/rooms/*.toml\", schema = \"etc/anchor/room.schema.json\"}; the first match wins"`
	Declared bool                  `toml:"declared" doc:"also validate files that name their schema themselves (\"$schema\", \"#:schema …\"), resolved in the image"`
}

// UKIPolicyFiles enforces R13/R14's embedded policies (nixgate uki check).
var UKIPolicyFiles = &check.Check{
	ID:       "uki-policy-files",
	Title:    "A policy file the UKI must embed is missing or does not match its schema",
	Severity: check.High,
	Rules:    []string{"R14", "R13"},
	Why: "The image carries its policies so that nothing is fetched at run time; a policy that is missing from " +
		"the initrd, or that does not parse and match its schema, fails on the machine at boot, where nobody can fix it.",
	Remediation: "Add the policy file to the initrd the image is built with, fix it at the reported line and " +
		"column, and rebuild; the same policy-schema gate runs on the repository with nixgate check.",
	Scope:   check.ScopeUKI,
	Options: &UKIPolicyFilesOptions{Declared: true},
	Run:     runUKIPolicyFiles,
}

func runUKIPolicyFiles(ctx context.Context, p *check.Pass) error {
	t := p.Input.(*uki.Target)
	opts := p.Options.(*UKIPolicyFilesOptions)
	want := func(path string) bool {
		if opts.Declared && schema.Format(path) != "" {
			return true
		}
		return slices.ContainsFunc(opts.Mappings, func(m PolicySchemaMapping) bool {
			return repo.Match(m.Files, path) || m.Schema == path
		})
	}
	files, read, problems, err := t.PolicyFiles(want)
	if err != nil {
		return err
	}
	for _, pr := range problems {
		p.Reportf(check.Location{Path: ".initrd"}, "initrd:"+pr, "the initrd cannot be read whole, so policy files may be missed: %s", pr)
	}
	return validatePolicies(ctx, p, &PolicySchemaOptions{Mappings: opts.Mappings, Declared: opts.Declared, Required: opts.Required},
		policyFiles{files: files, all: files, read: read, name: t.DisplayPath, where: "the image"})
}
