package checks

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/artifact"
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/repo"
)

// BuildOutputCommittedOptions tunes build-output-committed.
type BuildOutputCommittedOptions struct {
	BuildDirs  []string `toml:"build-dirs" doc:"directory names that are build output when they hold artifacts (binaries by magic bytes, objects, archives, generated bundles, build-system state); one that holds only sources is reported at info"`
	OutputDirs []string `toml:"output-dirs" doc:"path globs where the project's builds write: a directory matching one is build output whatever it holds (default: kernel-builder's build/<variant>/ layout)"`
	Allow      []string `toml:"allow" doc:"path globs of vetted binaries (firmware blobs, test vectors)"`
	AllowKinds []string `toml:"allow-kinds" doc:"binary kinds to accept everywhere, as named in reports (e.g. \"WebAssembly module\")"`
}

// BuildOutputCommitted enforces R1.
var BuildOutputCommitted = &check.Check{
	ID:       "build-output-committed",
	Title:    "Build outputs are committed",
	Severity: check.High,
	Rules:    []string{"R1"},
	Why: "A change that carries build outputs (a build/ directory, result links, compiled binaries) " +
		"cannot be reviewed: a binary can be compromised even when the source beside it looks fine. Content decides, " +
		"not names: a build/ directory is build output when it holds artifacts or sits where the project's builds write " +
		"(output-dirs), and one of sources only is reported at info; a NAR is judged by the files inside it.",
	Remediation: "Remove the output from the index (git rm --cached), add it to .gitignore, and let the " +
		"build produce it. Vetted binaries go into the check's allow list with a reason.",
	Scope:   check.ScopeRepo,
	Options: &BuildOutputCommittedOptions{BuildDirs: artifact.DefaultBuildDirs, OutputDirs: artifact.DefaultOutputDirs},
	Run:     runBuildOutputCommitted,
}

func runBuildOutputCommitted(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*BuildOutputCommittedOptions)
	r := p.Repo
	var files []string
	switch {
	case r.Change != nil:
		files = r.Files() // what the change adds or modifies
	case r.IsGit:
		files = r.Tracked()
	default:
		files = r.Untracked() // outside git: every file
	}
	allowed := func(name string) bool {
		for _, g := range opts.Allow {
			if repo.Match(g, name) {
				return true
			}
		}
		return false
	}
	dirs := map[string]*buildDirStat{}
	for _, name := range files {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if p.Skip(name) || allowed(name) {
			continue
		}
		fi, err := r.Lstat(name)
		if err != nil {
			continue // deleted in the work tree; dirty-tree reports it
		}
		var ds *buildDirStat
		if d := artifact.BuildDir(name, opts.BuildDirs); d != "" {
			ds = dirs[d]
			if ds == nil {
				ds = &buildDirStat{exts: map[string]int{}}
				dirs[d] = ds
			}
			ds.files++
			ds.size += fi.Size()
			for _, g := range opts.OutputDirs {
				if ds.output == "" && repo.Match(g, name) {
					ds.output = g
				}
			}
			if what := artifact.BuildArtifactName(name); what != "" {
				ds.artifact(name, what)
			} else if e := path.Ext(name); e != "" {
				ds.exts[e]++
			} else {
				ds.exts[path.Base(name)]++
			}
		}
		base := path.Base(name)
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := r.Readlink(name)
			if err != nil {
				continue
			}
			switch {
			case artifact.StorePathTarget(target):
				p.Reportf(check.Location{Path: name}, "link:"+target, "symlink into the Nix store (%s -> %s) is tracked: a build result link", name, target)
				if ds != nil {
					ds.artifact(name, "a result link")
				}
			case artifact.IsResultName(base):
				p.ReportSeverity(check.Medium, check.Finding{Location: check.Location{Path: name}, Key: "link:" + target,
					Message: fmt.Sprintf("%s is a tracked symlink named like a nix build result (-> %s)", name, target)})
			}
			continue
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		head, err := r.ReadHead(name, artifact.HeadSize)
		if repo.IsRefused(err) {
			continue // unchecked-file reports it
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		// A result link checked out without symlink support is a small file
		// holding the store path.
		if artifact.IsResultName(base) && fi.Size() < 512 && artifact.StorePathTarget(string(head)) {
			p.Reportf(check.Location{Path: name}, "link:"+strings.TrimSpace(string(head)),
				"%s is a nix build result link (checked out as a file holding %s)", name, strings.TrimSpace(string(head)))
			if ds != nil {
				ds.artifact(name, "a result link")
			}
			continue
		}
		var kind artifact.Kind
		var whole []byte
		magic := string(head[:min(4, len(head))])
		if magic == "PK\x03\x04" || kindOf(head) == artifact.NAR {
			whole, err = r.ReadFile(name)
			if repo.IsRefused(err) {
				continue // unchecked-file reports it
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", name, err)
			}
			kind = artifact.Sniff(head, bytes.NewReader(whole), int64(len(whole)))
		} else {
			kind = artifact.Sniff(head, nil, fi.Size())
		}
		if kind == "" || slices.Contains(opts.AllowKinds, string(kind)) {
			continue
		}
		if ds != nil {
			ds.artifact(name, string(kind))
		}
		key := "bin:" + string(kind) + ":" + fmt.Sprint(fi.Size())
		if kind == artifact.NAR {
			reportNAR(p, name, key, artifact.ScanNAR(whole), fi.Size(), opts)
			continue
		}
		p.Reportf(check.Location{Path: name}, key, "compiled binary is tracked: %s, %s (%s)", name, kind, repo.Size(fi.Size()))
	}
	names := make([]string, 0, len(dirs))
	for d := range dirs {
		names = append(names, d)
	}
	slices.Sort(names)
	for _, d := range names {
		s := dirs[d]
		loc, key := check.Location{Path: d + "/"}, "dir:"+d
		switch {
		case s.artifacts > 0:
			p.Reportf(loc, key, "build output directory %s/ is tracked: %d file(s), %s, %d of them build artifacts (%s)",
				d, s.files, repo.Size(s.size), s.artifacts, s.example)
		case s.output != "":
			p.Reportf(loc, key, "build output directory %s/ is tracked: %d file(s), %s, where the project's builds write (output-dirs %q)",
				d, s.files, repo.Size(s.size), s.output)
		default:
			p.ReportSeverity(check.Info, check.Finding{Location: loc, Key: key, Message: fmt.Sprintf(
				"%s/ is named like a build directory but holds only sources (%d file(s): %s), no artifact: not a build output",
				d, s.files, extSummary(s.exts))})
		}
	}
	return nil
}

// buildDirStat is what a directory named like a build directory holds.
type buildDirStat struct {
	files     int
	size      int64
	artifacts int
	example   string // the first artifact and what it is
	output    string // the output-dirs glob it matches
	exts      map[string]int
	last      string // the last artifact counted
}

// artifact records a build artifact found in the directory.
func (s *buildDirStat) artifact(name, what string) {
	if s.last == name {
		if s.artifacts == 1 {
			s.example = name + ": " + what // the content says more than the name
		}
		return
	}
	if s.artifacts == 0 {
		s.example = name + ": " + what
	}
	s.artifacts++
	s.last = name
}

func kindOf(head []byte) artifact.Kind { return artifact.Sniff(head, nil, int64(len(head))) }

// reportNAR judges a tracked NAR by what it holds: one with a compiled
// binary inside is a build output; one of text files only is data (the
// test vectors of a NAR parser), reported below the failure threshold.
func reportNAR(p *check.Pass, name, key string, nar artifact.NARPayload, size int64, opts *BuildOutputCommittedOptions) {
	loc := check.Location{Path: name}
	var inside []string
	for _, k := range nar.Binaries {
		if !slices.Contains(opts.AllowKinds, string(k)) {
			inside = append(inside, string(k))
		}
	}
	switch {
	case len(inside) > 0:
		p.Reportf(loc, key, "compiled binary is tracked: %s, Nix archive (NAR) holding %s (%s)", name, strings.Join(inside, ", "), repo.Size(size))
	case artifact.InTestData(name):
		// The same words for every such NAR: the report shows them as one
		// finding with its places.
		p.ReportSeverity(check.Info, check.Finding{Location: loc, Key: key,
			Message: "a Nix archive (NAR) of test data, no compiled binary inside: test vectors, not a build output"})
	default:
		p.ReportSeverity(check.Low, check.Finding{Location: loc, Key: key, Message: fmt.Sprintf(
			"a Nix archive (NAR) with no compiled binary inside (%d file(s), %s); a serialised store path is usually a build output", nar.Files, repo.Size(size))})
	}
}

// extSummary names the most common extensions of a directory's files.
func extSummary(exts map[string]int) string {
	type ec struct {
		ext string
		n   int
	}
	var l []ec
	for e, n := range exts {
		l = append(l, ec{e, n})
	}
	slices.SortFunc(l, func(a, b ec) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(a.ext, b.ext)
	})
	var out []string
	for _, e := range l[:min(4, len(l))] {
		out = append(out, e.ext)
	}
	if len(l) > 4 {
		out = append(out, "…")
	}
	return strings.Join(out, ", ")
}
