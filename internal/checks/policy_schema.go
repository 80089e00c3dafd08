package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/schema"
)

// PolicySchemaMapping names the schema of a set of files.
type PolicySchemaMapping struct {
	Files  string `toml:"files"`
	Schema string `toml:"schema"`
}

// PolicySchemaOptions tunes policy-schema.
type PolicySchemaOptions struct {
	Mappings []PolicySchemaMapping `toml:"mappings" doc:"files and their schema: {files = \"policies/rooms/*.toml\", schema = \"policies/room.schema.json\"}; the first match wins"`
	Declared bool                  `toml:"declared" doc:"also validate files that name a schema in the repository themselves: \"$schema\" in JSON, \"# yaml-language-server: $schema=…\" in YAML, \"#:schema …\" in TOML"`
	Required []string              `toml:"required" doc:"paths (globs) of policy files that must exist"`
}

// PolicySchema enforces R13's embedded policy files.
var PolicySchema = &check.Check{
	ID:       "policy-schema",
	Title:    "Policy file does not parse or match its schema",
	Severity: check.High,
	Rules:    []string{"R13"},
	Why: "Policy files embedded in an image are read at boot, when nobody can fix them: each must parse and match " +
		"its JSON Schema when the image is built, so that a typo fails the build instead of the machine.",
	Remediation: "Fix the file at the reported line and column (or the schema, in a reviewed change); add files " +
		"that must exist to the repository.",
	Scope:   check.ScopeRepo,
	Options: &PolicySchemaOptions{Declared: true},
	Run:     runPolicySchema,
}

func runPolicySchema(ctx context.Context, p *check.Pass) error {
	return validatePolicies(ctx, p, p.Options.(*PolicySchemaOptions), p.Repo.Files(), p.Repo.ReadFile, func(f string) string { return f })
}

// validatePolicies checks files (read with read) against the schemas opts
// maps them to, and that the required ones exist. name turns a file into
// the path findings show: the repository path for nixgate check, the path
// in the image for nixgate uki check.
func validatePolicies(ctx context.Context, p *check.Pass, opts *PolicySchemaOptions, files []string, read func(string) ([]byte, error), name func(string) string) error {
	compiled := map[string]*schema.Schema{}
	broken := map[string]bool{}
	for _, f := range files {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if p.Skip(name(f)) {
			continue
		}
		sch := ""
		for _, m := range opts.Mappings {
			if repo.Match(m.Files, f) {
				sch = m.Schema
				break
			}
		}
		var data []byte
		if sch == "" && opts.Declared && schema.Format(f) != "" {
			var err error
			if data, err = read(f); err != nil {
				return fmt.Errorf("read %s: %w", name(f), err)
			}
			sch = schema.Resolve(f, schema.Declared(f, data))
		}
		if sch == "" {
			continue
		}
		if data == nil {
			var err error
			if data, err = read(f); err != nil {
				return fmt.Errorf("read %s: %w", name(f), err)
			}
		}
		doc, err := schema.Parse(f, data)
		if err != nil {
			loc := check.Location{Path: name(f)}
			var pe *schema.Error
			if errors.As(err, &pe) {
				loc.Line, loc.Column = pe.Line, pe.Col
				err = errors.New(pe.Msg)
			}
			p.Reportf(loc, "parse", "%s does not parse: %v", name(f), err)
			continue
		}
		s, ok := compiled[sch]
		if !ok && !broken[sch] {
			s, err = schema.Compile(read, sch)
			if err != nil {
				broken[sch] = true
				p.Reportf(check.Location{Path: name(sch)}, "compile", "schema %s, used by %s, cannot be used: %v", name(sch), name(f), err)
				continue
			}
			compiled[sch] = s
		}
		if s == nil {
			continue
		}
		for _, v := range s.Validate(doc) {
			p.Reportf(check.Location{Path: name(f), Line: v.Pos.Line, Column: v.Pos.Col}, "schema:"+v.Pointer+":"+v.Msg,
				"%s does not match %s: %s", name(f), name(sch), v.Msg)
		}
	}
	for _, g := range opts.Required {
		if !slices.ContainsFunc(files, func(f string) bool { return repo.Match(g, f) }) {
			p.Reportf(check.Location{Path: name(g)}, "required:"+g, "required policy file %s is missing", name(g))
		}
	}
	return nil
}
