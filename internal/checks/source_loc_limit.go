package checks

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/policy"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/sloc"
)

// SourceLocLimitOptions tunes source-loc-limit.
type SourceLocLimitOptions struct {
	Limits    map[string]int `toml:"limits" doc:"directory (\".\" for the whole repository) = maximum code lines of its Rust, Go, C/C++, Python, shell and Nix files, counted as tokei counts; empty: nothing is checked"`
	Largest   int            `toml:"largest" doc:"how many of the largest files a finding names"`
	Init      []string       `toml:"init" doc:"the init program's crates (directories or package names; [project] init sets them), each limited to init-limit code lines"`
	InitLimit int            `toml:"init-limit" doc:"maximum code lines of each init-program crate; 0: not checked"`
}

// ApplyProject takes the init program from [project] init unless init is
// set.
func (o *SourceLocLimitOptions) ApplyProject(p policy.Project) {
	if len(o.Init) == 0 {
		o.Init = slices.Clone(p.Init)
	}
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
	limits := maps.Clone(opts.Limits)
	if limits == nil {
		limits = map[string]int{}
	}
	if opts.InitLimit > 0 {
		for _, d := range initDirs(p, opts.Init) {
			if _, set := limits[d]; !set {
				limits[d] = opts.InitLimit
			}
		}
	}
	if len(limits) == 0 {
		return nil
	}
	dirs := make([]string, 0, len(limits))
	for d := range limits {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	// The limit is on the tree the change leads to: count every file, and
	// in a change's view judge only the directories it touches.
	files := p.Repo.AllFiles()
	for _, d := range dirs {
		limit := limits[d]
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
			if repo.IsRefused(err) {
				continue // over its kind's limit: unchecked-file reports it
			}
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

// initDirs resolves the init program's crates, given as directories or
// package names, to directories: a name matches a Cargo.toml's directory,
// that directory's base name or its package name.
func initDirs(p *check.Pass, init []string) []string {
	var out []string
	for _, c := range init {
		c = path.Clean(strings.Trim(c, "/"))
		found := false
		for _, f := range p.Repo.AllFiles() {
			if path.Base(f) != "Cargo.toml" {
				continue
			}
			d := path.Dir(f)
			if d == c || path.Base(d) == c {
				out, found = append(out, d), true
				continue
			}
			if data, err := p.Repo.ReadFile(f); err == nil {
				var m cargoManifest
				if toml.Unmarshal(data, &m) == nil && m.Package != nil && m.Package.Name == c {
					out, found = append(out, d), true
				}
			}
		}
		if !found {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
