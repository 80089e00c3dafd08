package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

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
	return validatePolicies(ctx, p, p.Options.(*PolicySchemaOptions), policyFiles{
		files: p.Repo.Files(), all: p.Repo.AllFiles(), read: p.Repo.ReadFile,
		name: func(f string) string { return f }, where: "the repository",
	})
}

// policyFiles is what validatePolicies reads: the files to validate, all
// the files (for required), how to read one, how findings name one (the
// repository path for nixgate check, the path in the image for nixgate
// uki check), and what "outside" means.
type policyFiles struct {
	files, all []string
	read       func(string) ([]byte, error)
	name       func(string) string
	where      string
}

// validatePolicies checks files against the schemas opts maps them to (or
// that they declare), and that the required ones exist.
func validatePolicies(ctx context.Context, p *check.Pass, opts *PolicySchemaOptions, in policyFiles) error {
	name, read := in.name, in.read
	compiled := map[string]*schema.Schema{}
	broken := map[string]bool{}
	for _, f := range in.files {
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
			if data, err = read(f); repo.IsRefused(err) {
				continue // unchecked-file reports it
			} else if err != nil {
				return fmt.Errorf("read %s: %w", name(f), err)
			}
			decl := schema.Declared(f, data)
			sch = schema.Resolve(f, decl)
			if sch == "" && decl != "" && !strings.Contains(decl, "://") && !strings.HasPrefix(decl, "urn:") {
				p.Reportf(check.Location{Path: name(f)}, "outside:"+decl,
					"%s declares the schema %s, which lies outside %s: nixgate does not read it, so %s is not validated", name(f), decl, in.where, name(f))
				continue
			}
		}
		if sch == "" {
			continue
		}
		if data == nil {
			var err error
			if data, err = read(f); repo.IsRefused(err) {
				continue // unchecked-file reports it
			} else if err != nil {
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
		if !slices.ContainsFunc(in.all, func(f string) bool { return repo.Match(g, f) }) {
			p.Reportf(check.Location{Path: name(g)}, "required:"+g, "required policy file %s is missing", name(g))
		}
	}
	return nil
}
