package checks

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/sloc"
)

// SourceLocLimitOptions tunes source-loc-limit.
type SourceLocLimitOptions struct {
	Limits  map[string]int `toml:"limits" doc:"directory (\".\" for the whole repository) = maximum code lines of its Rust, Go, C/C++, Python, shell and Nix files, counted as tokei counts; empty: nothing is checked"`
	Largest int            `toml:"largest" doc:"how many of the largest files a finding names"`
}

// SourceLocLimit enforces R13's code-line limit.
var SourceLocLimit = &check.Check{
	ID:       "source-loc-limit",
	Title:    "Source directory is over its code-line limit",
	Severity: check.High,
	Rules:    []string{"R13"},
	Why: "A program that must stay small enough to be reviewed whole (an init program, a policy engine) " +
		"grows one reasonable change at a time; a hard limit on code lines, counted the way tokei counts them " +
		"(blanks and comments excluded, string contents included), stops that mechanically.",
	Remediation: "Remove code, move it out of the limited directory, or raise the limit in nixgate.toml " +
		"in a reviewed change that says why.",
	Scope:   check.ScopeRepo,
	Options: &SourceLocLimitOptions{Largest: 3},
	Run:     runSourceLocLimit,
}

func runSourceLocLimit(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*SourceLocLimitOptions)
	if len(opts.Limits) == 0 {
		return nil
	}
	dirs := make([]string, 0, len(opts.Limits))
	for d := range opts.Limits {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	// The limit is on the tree the change leads to: count every file, and
	// in a change's view judge only the directories it touches.
	files := p.Repo.AllFiles()
	for _, d := range dirs {
		limit := opts.Limits[d]
		prefix := strings.Trim(d, "/")
		if prefix == "." {
			prefix = ""
		}
		if p.Repo.Change != nil && !slices.ContainsFunc(p.Repo.Files(), func(f string) bool {
			return prefix == "" || strings.HasPrefix(f, prefix+"/")
		}) {
			continue
		}
		type counted struct {
			name string
			code int
		}
		var list []counted
		total := 0
		for _, name := range files {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if prefix != "" && !strings.HasPrefix(name, prefix+"/") || p.Skip(name) {
				continue
			}
			fi, err := p.Repo.Lstat(name)
			if err != nil || fi.Mode()&fs.ModeType != 0 {
				continue // deleted, a symlink or not a regular file
			}
			var head []byte
			if !strings.Contains(name[strings.LastIndexByte(name, '/')+1:], ".") {
				if head, err = p.Repo.ReadHead(name, 128); err != nil {
					return fmt.Errorf("read %s: %w", name, err)
				}
			}
			lang := sloc.Detect(name, head)
			if lang == nil {
				continue
			}
			data, err := p.Repo.ReadFile(name)
			if err != nil {
				return fmt.Errorf("read %s: %w", name, err)
			}
			st := lang.Count(data)
			total += st.Code
			list = append(list, counted{name, st.Code})
		}
		if total <= limit {
			continue
		}
		slices.SortStableFunc(list, func(a, b counted) int { return b.code - a.code })
		var largest []string
		for _, c := range list[:min(max(opts.Largest, 0), len(list))] {
			largest = append(largest, fmt.Sprintf("%s (%d)", c.name, c.code))
		}
		loc := d
		if prefix != "" {
			loc = prefix + "/"
		}
		msg := fmt.Sprintf("%s has %d code lines, over its limit of %d by %d", loc, total, limit, total-limit)
		if len(largest) > 0 {
			msg += "; largest files: " + strings.Join(largest, ", ")
		}
		p.Reportf(check.Location{Path: loc}, "loc:"+d, "%s", msg)
	}
	return nil
}
