package checks

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/depallow"
	"github.com/nixgate/nixgate/internal/policy"
)

// DependencyAllowlistOptions tunes dependency-allowlist.
type DependencyAllowlistOptions struct {
	Cargo           []string `toml:"cargo" doc:"allowed crates in Cargo.lock: \"name\" or \"name@version\", * matches anything; empty: Cargo.lock files are not checked"`
	Go              []string `toml:"go" doc:"allowed modules in go.mod (\"golang.org/x/*\"); empty: go.mod files are not checked"`
	Npm             []string `toml:"npm" doc:"allowed packages in package-lock.json (\"@scope/*\", \"left-pad@1.*\"); empty: npm locks are not checked"`
	Registries      []string `toml:"registries" doc:"more allowed sources: Cargo registry sources or npm download URL prefixes"`
	AllowDuplicates []string `toml:"allow-duplicates" doc:"packages that may be locked in more than one version"`
	Init            []string `toml:"init" doc:"the init program's crates (directories or package names; [project] init sets them): only what they depend on is checked (in Cargo.lock, the packages reachable from them; go.mod and npm locks under their directories); empty: every lock"`
}

// ApplyProject takes the init program from [project] init unless init is
// set.
func (o *DependencyAllowlistOptions) ApplyProject(p policy.Project) {
	if len(o.Init) == 0 {
		o.Init = slices.Clone(p.Init)
	}
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
	var dirs, names []string
	if len(opts.Init) > 0 {
		dirs = initDirs(p, opts.Init)
		names = opts.Init
	}
	underInit := func(f string) bool {
		return slices.ContainsFunc(dirs, func(d string) bool { return d == "." || strings.HasPrefix(f, d+"/") })
	}
	for _, f := range p.Repo.Files() {
		kind := depallow.Kind(f)
		if kind == "" || len(allow[kind]) == 0 || p.Skip(f) {
			continue
		}
		if len(dirs) > 0 && kind != depallow.Cargo && !underInit(f) {
			continue // not the init program's
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
		if len(names) > 0 && kind == depallow.Cargo {
			// A workspace's lock: what the init program reaches from its
			// package names (directories name their package too).
			roots := slices.Clone(names)
			for _, d := range dirs {
				if data, err := p.Repo.ReadFile(path.Join(d, "Cargo.toml")); err == nil {
					var m cargoManifest
					if toml.Unmarshal(data, &m) == nil && m.Package != nil {
						roots = append(roots, m.Package.Name)
					}
				}
			}
			var ok bool
			if lk, ok = depallow.Reachable(lk, roots); !ok {
				continue // the lock of another program
			}
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
