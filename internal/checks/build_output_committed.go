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
	BuildDirs  []string `toml:"build-dirs" doc:"directory names whose tracked content is build output"`
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
		"cannot be reviewed: a binary can be compromised even when the source beside it looks fine.",
	Remediation: "Remove the output from the index (git rm --cached), add it to .gitignore, and let the " +
		"build produce it. Vetted binaries go into the check's allow list with a reason.",
	Scope:   check.ScopeRepo,
	Options: &BuildOutputCommittedOptions{BuildDirs: artifact.DefaultBuildDirs},
	Run:     runBuildOutputCommitted,
}

func runBuildOutputCommitted(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*BuildOutputCommittedOptions)
	r := p.Repo
	files := r.Tracked()
	if !r.IsGit {
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
	type dirStat struct {
		files int
		size  int64
	}
	dirs := map[string]*dirStat{}
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
		if d := artifact.BuildDir(name, opts.BuildDirs); d != "" {
			s := dirs[d]
			if s == nil {
				s = &dirStat{}
				dirs[d] = s
			}
			s.files++
			s.size += fi.Size()
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
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		// A result link checked out without symlink support is a small file
		// holding the store path.
		if artifact.IsResultName(base) && fi.Size() < 512 && artifact.StorePathTarget(string(head)) {
			p.Reportf(check.Location{Path: name}, "link:"+strings.TrimSpace(string(head)),
				"%s is a nix build result link (checked out as a file holding %s)", name, strings.TrimSpace(string(head)))
			continue
		}
		var kind artifact.Kind
		if string(head[:min(4, len(head))]) == "PK\x03\x04" {
			data, err := r.ReadFile(name)
			if repo.IsRefused(err) {
				continue // unchecked-file reports it
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", name, err)
			}
			kind = artifact.Sniff(head, bytes.NewReader(data), int64(len(data)))
		} else {
			kind = artifact.Sniff(head, nil, fi.Size())
		}
		if kind == "" || slices.Contains(opts.AllowKinds, string(kind)) {
			continue
		}
		p.Reportf(check.Location{Path: name}, "bin:"+string(kind)+":"+fmt.Sprint(fi.Size()),
			"compiled binary is tracked: %s, %s (%s)", name, kind, repo.Size(fi.Size()))
	}
	names := make([]string, 0, len(dirs))
	for d := range dirs {
		names = append(names, d)
	}
	slices.Sort(names)
	for _, d := range names {
		s := dirs[d]
		p.Reportf(check.Location{Path: d + "/"}, "dir:"+d,
			"build output directory %s/ is tracked: %d file(s), %s", d, s.files, repo.Size(s.size))
	}
	return nil
}
