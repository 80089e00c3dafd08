package checks

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/ci"
	"github.com/nixgate/nixgate/internal/repo"
)

// RequiredPathsOptions tunes required-paths.
type RequiredPathsOptions struct {
	Paths   []string `toml:"paths" doc:"the layout the repository must have: a file (flake.lock), a directory with a final / (policies/rooms/: at least one file in it) or a glob (kernel/*.config: at least one match); empty: [ci] required-paths, else nothing is required"`
	Tracked bool     `toml:"tracked" doc:"a required path must be committed, not only present in the work tree"`
}

// ApplyCI takes the layout from [ci] required-paths unless paths is set.
func (o *RequiredPathsOptions) ApplyCI(c ci.Config) {
	if len(o.Paths) == 0 {
		o.Paths = slices.Clone(c.RequiredPaths)
	}
}

// RequiredPaths enforces the expected repository layout of the pipeline
// contract ([ci] required-paths).
var RequiredPaths = &check.Check{
	ID:       "required-paths",
	Title:    "A path of the expected repository layout is missing",
	Severity: check.High,
	Rules:    []string{"R5", "R12", "R13"},
	Why: "The gates are only as good as what they find: a missing flake.lock, kernel configuration or policy " +
		"directory is checked by no one, and the gate that should fail passes silently. The layout the pipeline " +
		"expects is part of its contract.",
	Remediation: "Add and commit the missing path, or change the expected layout ([ci] required-paths, or " +
		"[checks.required-paths] paths) in a reviewed change.",
	Scope:   check.ScopeRepo,
	Options: &RequiredPathsOptions{Tracked: true},
	Run:     runRequiredPaths,
}

func runRequiredPaths(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*RequiredPathsOptions)
	r := p.Repo
	if len(opts.Paths) == 0 || r.Rev == "index" {
		// A pre-commit hook judges what is staged, not the layout.
		return nil
	}
	all := r.AllFiles()
	for _, want := range opts.Paths {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		want = strings.TrimPrefix(strings.TrimSpace(want), "./")
		match := requiredMatcher(want)
		var found, committed []string
		for _, f := range all {
			if match(f) {
				found = append(found, f)
				if !r.IsGit || r.IsTracked(f) {
					committed = append(committed, f)
				}
			}
		}
		what := describeRequired(want)
		loc := check.Location{Path: strings.TrimSuffix(want, "/")}
		if strings.ContainsAny(want, "*?[") {
			loc = check.Location{}
		}
		if c := r.Change; c != nil {
			// On a change, report what the change removes.
			if len(found) == 0 {
				for _, e := range c.Entries() {
					if e.Status == "D" && match(e.Path) {
						p.Reportf(loc, "missing:"+want, "the change removes %s, which the layout requires (%s)", e.Path, what)
						break
					}
				}
			}
			continue
		}
		switch {
		case len(found) == 0:
			p.Reportf(loc, "missing:"+want, "required %s is missing", what)
		case opts.Tracked && len(committed) == 0:
			p.Reportf(loc, "untracked:"+want, "required %s exists (%s) but is not committed", what, strings.Join(first(found, 3), ", "))
		}
	}
	return nil
}

// requiredMatcher matches repository files against one entry of the
// layout: a directory (final /), a glob, or a file.
func requiredMatcher(want string) func(string) bool {
	switch {
	case strings.HasSuffix(want, "/"):
		return func(f string) bool { return strings.HasPrefix(f, want) }
	case strings.ContainsAny(want, "*?["):
		return func(f string) bool { return repo.Match(want, f) }
	}
	return func(f string) bool { return f == want || strings.HasPrefix(f, want+"/") }
}

func describeRequired(want string) string {
	switch {
	case strings.HasSuffix(want, "/"):
		return fmt.Sprintf("directory %s (at least one file)", want)
	case strings.ContainsAny(want, "*?["):
		return fmt.Sprintf("path matching %s", want)
	}
	return fmt.Sprintf("path %s", path.Clean(want))
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "…")
	}
	return s
}
