package checks

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/nixlex"
	"github.com/nixgate/nixgate/internal/repo"
)

// NixImpureConstructOptions tunes nix-impure-construct.
type NixImpureConstructOptions struct {
	Scripts []string `toml:"scripts" doc:"globs of scripts and CI files searched for --impure"`
	Exclude []string `toml:"exclude" doc:"globs of .nix files not to scan (flake.nix is always skipped: flakes evaluate in pure mode)"`
}

// NixImpureConstruct enforces R5 in plain .nix files.
var NixImpureConstruct = &check.Check{
	ID:       "nix-impure-construct",
	Title:    "A .nix file or script depends on the evaluating machine",
	Severity: check.Medium,
	Rules:    []string{"R5"},
	Why: "Outside a flake, Nix evaluates impurely: <nixpkgs> resolves through each machine's NIX_PATH, " +
		"builtins.fetchTarball/fetchurl without a hash and fetchGit/fetchTree without a rev fetch whatever the " +
		"URL serves today, builtins.currentTime and builtins.getEnv differ per run; --impure turns all of this on for a flake.",
	Remediation: "Take nixpkgs from a flake input or a pinned fetchTarball { url = \".../archive/<rev>.tar.gz\"; sha256 = ...; }, " +
		"give every builtin fetcher a hash or rev, pass values as arguments instead of reading the environment, " +
		"and drop --impure from scripts.",
	Scope: check.ScopeRepo,
	Options: &NixImpureConstructOptions{Scripts: []string{
		"*.sh", "*.bash", "Makefile", "GNUmakefile", "*.mk", "justfile", "Justfile", ".envrc",
		".github/workflows/**", ".gitlab-ci.yml", ".buildkite/**", ".circleci/**", "Jenkinsfile",
	}},
	Run: runNixImpureConstruct,
}

func runNixImpureConstruct(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*NixImpureConstructOptions)
	matchAny := func(globs []string, name string) bool {
		for _, g := range globs {
			if repo.Match(g, name) {
				return true
			}
		}
		return false
	}
	for _, name := range p.Repo.Files() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if p.Skip(name) {
			continue
		}
		isNix := strings.HasSuffix(name, ".nix")
		if isNix && (path.Base(name) == "flake.nix" || matchAny(opts.Exclude, name)) {
			continue
		}
		if !isNix && !matchAny(opts.Scripts, name) {
			continue
		}
		fi, err := p.Repo.Lstat(name)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > 4<<20 {
			continue
		}
		data, err := p.Repo.ReadFile(name)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		var fs []nixlex.Finding
		if isNix {
			fs, err = nixlex.ScanImpure(string(data))
			if err != nil {
				loc := check.Location{Path: name}
				if le, ok := err.(*nixlex.Error); ok {
					loc.Line, loc.Column = le.Pos.Line, le.Pos.Column
				}
				p.ReportSeverity(check.Low, check.Finding{Location: loc, Key: "lex-error",
					Message: fmt.Sprintf("%s cannot be scanned: %v", name, err)})
				continue
			}
		} else {
			fs = nixlex.ScanImpureFlag(string(data))
		}
		for _, f := range fs {
			p.Reportf(check.Location{Path: name, Line: f.Pos.Line, Column: f.Pos.Column}, f.Key, "%s", f.Message)
		}
	}
	return nil
}
