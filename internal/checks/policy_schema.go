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
	opts := p.Options.(*PolicySchemaOptions)
	files := p.Repo.Files()
	read := func(name string) ([]byte, error) { return p.Repo.ReadFile(name) }
	compiled := map[string]*schema.Schema{}
	broken := map[string]bool{}
	for _, f := range files {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if p.Skip(f) {
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
			if data, err = p.Repo.ReadFile(f); repo.IsRefused(err) {
				continue // unchecked-file reports it
			} else if err != nil {
				return fmt.Errorf("read %s: %w", f, err)
			}
			decl := schema.Declared(f, data)
			sch = schema.Resolve(f, decl)
			if sch == "" && decl != "" && !strings.Contains(decl, "://") && !strings.HasPrefix(decl, "urn:") {
				p.Reportf(check.Location{Path: f}, "outside:"+decl,
					"%s declares the schema %s, which lies outside the repository: nixgate does not read it, so %s is not validated", f, decl, f)
				continue
			}
		}
		if sch == "" {
			continue
		}
		if data == nil {
			var err error
			if data, err = p.Repo.ReadFile(f); repo.IsRefused(err) {
				continue // unchecked-file reports it
			} else if err != nil {
				return fmt.Errorf("read %s: %w", f, err)
			}
		}
		doc, err := schema.Parse(f, data)
		if err != nil {
			loc := check.Location{Path: f}
			var pe *schema.Error
			if errors.As(err, &pe) {
				loc.Line, loc.Column = pe.Line, pe.Col
				err = errors.New(pe.Msg)
			}
			p.Reportf(loc, "parse", "%s does not parse: %v", f, err)
			continue
		}
		s, ok := compiled[sch]
		if !ok && !broken[sch] {
			s, err = schema.Compile(read, sch)
			if err != nil {
				broken[sch] = true
				p.Reportf(check.Location{Path: sch}, "compile", "schema %s, used by %s, cannot be used: %v", sch, f, err)
				continue
			}
			compiled[sch] = s
		}
		if s == nil {
			continue
		}
		for _, v := range s.Validate(doc) {
			p.Reportf(check.Location{Path: f, Line: v.Pos.Line, Column: v.Pos.Col}, "schema:"+v.Pointer+":"+v.Msg,
				"%s does not match %s: %s", f, sch, v.Msg)
		}
	}
	all := p.Repo.AllFiles()
	for _, g := range opts.Required {
		if !slices.ContainsFunc(all, func(f string) bool { return repo.Match(g, f) }) {
			p.Reportf(check.Location{Path: g}, "required:"+g, "required policy file %s is missing", g)
		}
	}
	return nil
}
