package checks

import (
	"context"
	"fmt"
	"path"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/depallow"
)

// DependencyAllowlistOptions tunes dependency-allowlist.
type DependencyAllowlistOptions struct {
	Cargo           []string `toml:"cargo" doc:"allowed crates in Cargo.lock: \"name\" or \"name@version\", * matches anything; empty: Cargo.lock files are not checked"`
	Go              []string `toml:"go" doc:"allowed modules in go.mod (\"golang.org/x/*\"); empty: go.mod files are not checked"`
	Npm             []string `toml:"npm" doc:"allowed packages in package-lock.json (\"@scope/*\", \"left-pad@1.*\"); empty: npm locks are not checked"`
	Registries      []string `toml:"registries" doc:"more allowed sources: Cargo registry sources or npm download URL prefixes"`
	AllowDuplicates []string `toml:"allow-duplicates" doc:"packages that may be locked in more than one version"`
}

// DependencyAllowlist enforces R13's dependency allowlist.
var DependencyAllowlist = &check.Check{
	ID:       "dependency-allowlist",
	Title:    "Dependency outside the allowlist",
	Severity: check.High,
	Rules:    []string{"R13"},
	Why: "A small trusted program must not grow dependencies unnoticed: every package in Cargo.lock, go.mod and " +
		"package-lock.json must be on the policy's allowlist and come from the registry, git dependencies must " +
		"pin a revision, and one package locked in two versions doubles what must be reviewed.",
	Remediation: "Remove the dependency, or add it to the allowlist in nixgate.toml in a reviewed change; pin git " +
		"dependencies with rev = \"<commit>\"; unify duplicate versions (cargo tree -d).",
	Scope:   check.ScopeRepo,
	Options: &DependencyAllowlistOptions{},
	Run:     runDependencyAllowlist,
}

func runDependencyAllowlist(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*DependencyAllowlistOptions)
	allow := map[string][]string{depallow.Cargo: opts.Cargo, depallow.Go: opts.Go, depallow.Npm: opts.Npm}
	for _, f := range p.Repo.Files() {
		kind := depallow.Kind(f)
		if kind == "" || len(allow[kind]) == 0 || p.Skip(f) {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		data, err := p.Repo.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read %s: %w", f, err)
		}
		var lk *depallow.Lock
		switch kind {
		case depallow.Cargo:
			lk, err = depallow.ParseCargoLock(f, data)
		case depallow.Go:
			sum, serr := p.Repo.ReadFile(path.Join(path.Dir(f), "go.sum"))
			if serr != nil {
				sum = nil
			}
			lk, err = depallow.ParseGoMod(f, data, sum)
		case depallow.Npm:
			lk, err = depallow.ParseNpmLock(f, data)
		}
		if err != nil {
			p.Reportf(check.Location{Path: f}, "parse", "%s cannot be read, its dependencies are not checked: %v", f, err)
			continue
		}
		for _, fd := range depallow.Check(lk, depallow.Policy{Allow: allow[kind], Registries: opts.Registries, AllowDuplicates: opts.AllowDuplicates}) {
			sev := p.Check.Severity
			if fd.Kind == "duplicate" || fd.Kind == "unhashed" {
				sev = check.Medium
			}
			p.ReportSeverity(sev, check.Finding{Location: check.Location{Path: f, Line: fd.Line},
				Key: fd.Kind + ":" + fd.Package, Message: fd.Message})
		}
	}
	return nil
}
