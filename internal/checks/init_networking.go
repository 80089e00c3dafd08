package checks

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/policy"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/rustlex"
)

// InitNetworkingAllow allows a use of networking by the policy.
type InitNetworkingAllow struct {
	Path   string `toml:"path"`
	API    string `toml:"api"`
	Reason string `toml:"reason"`
}

// InitNetworkingOptions tunes init-networking.
type InitNetworkingOptions struct {
	Crates       []string              `toml:"crates" doc:"the init program's crates: directories (init) or package names (bay0); empty: [project] init, else nothing is checked"`
	Allow        []InitNetworkingAllow `toml:"allow" doc:"allowed uses: {path = \"init/src/log.rs\", api = \"std::net::UdpSocket\", reason = \"why\"}; path is a glob, api a path or its prefix (empty: the whole file)"`
	Dependencies bool                  `toml:"dependencies" doc:"also read the sources of the crates' dependencies vendored in the repository (the vendor directory of Cargo.lock, .cargo/config.toml)"`
}

// ApplyProject takes the init program from [project] init unless crates
// is set.
func (o *InitNetworkingOptions) ApplyProject(p policy.Project) {
	if len(o.Crates) == 0 {
		o.Crates = slices.Clone(p.Init)
	}
}

// InitNetworking enforces the seed's "no networking syscalls beyond
// AF_UNIX" for the init program (R13), statically.
var InitNetworking = &check.Check{
	ID:       "init-networking",
	Title:    "The init program uses networking beyond AF_UNIX",
	Severity: check.High,
	Rules:    []string{"R13"},
	Why: "The init program talks to its rooms over Unix domain sockets and nothing else: a TCP or UDP socket, name " +
		"resolution, a raw or netlink socket, or a networking crate in its sources or its dependencies' is a way in " +
		"or out that the image's design says does not exist. The uses are found with a Rust lexer (std::net, the " +
		"network modules of tokio, async-std, mio and smol, networking crates, libc and nix socket families other " +
		"than AF_UNIX); test code does not count.",
	Remediation: "Remove the networking (use std::os::unix::net or AF_UNIX sockets), drop the dependency, or allow " +
		"the use with a reason in [checks.init-networking] allow in a reviewed change.",
	Scope:   check.ScopeRepo,
	Options: &InitNetworkingOptions{Dependencies: true},
	Run:     runInitNetworking,
}

type cargoLockFile struct {
	Package []struct {
		Name         string   `toml:"name"`
		Version      string   `toml:"version"`
		Source       string   `toml:"source"`
		Dependencies []string `toml:"dependencies"`
	} `toml:"package"`
}

type cargoConfig struct {
	Source map[string]struct {
		Directory string `toml:"directory"`
	} `toml:"source"`
}

func runInitNetworking(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*InitNetworkingOptions)
	if len(opts.Crates) == 0 {
		return nil
	}
	var allow []InitNetworkingAllow
	for _, a := range opts.Allow {
		if strings.TrimSpace(a.Reason) == "" {
			p.Reportf(check.Location{}, "allow:"+a.Path+":"+a.API, "the allowance of %s in %s has no reason, so it allows nothing", or(a.API, "networking"), a.Path)
			continue
		}
		allow = append(allow, a)
	}
	r := p.Repo
	all := r.AllFiles()
	inScope := map[string]bool{}
	for _, f := range r.Files() {
		inScope[f] = true
	}
	// The crates: directories with a Cargo.toml, by directory or name.
	manifests := map[string]string{} // dir -> package name
	for _, f := range all {
		if path.Base(f) != "Cargo.toml" || p.Skip(f) {
			continue
		}
		data, err := r.ReadFile(f)
		if err != nil {
			continue
		}
		var m cargoManifest
		if toml.Unmarshal(data, &m) == nil && m.Package != nil {
			manifests[path.Dir(f)] = m.Package.Name
		} else {
			manifests[path.Dir(f)] = ""
		}
	}
	type crate struct{ dir, name string }
	var crates []crate
	for _, want := range opts.Crates {
		want = path.Clean(strings.Trim(want, "/"))
		found := false
		for dir, name := range manifests {
			if dir == want || (name != "" && name == want) {
				crates = append(crates, crate{dir, name})
				found = true
			}
		}
		if !found {
			p.Reportf(check.Location{}, "crate:"+want, "the init crate %q is not in the repository (no Cargo.toml in that directory or with that package name), so nothing of it is checked", want)
		}
	}
	slices.SortFunc(crates, func(a, b crate) int { return strings.Compare(a.dir, b.dir) })
	crates = slices.Compact(crates)
	type key struct{ file, api string }
	type hit struct {
		use   rustlex.NetUse
		n     int
		label string
	}
	hits := map[key]*hit{}
	var order []key
	scan := func(f, label string) error {
		if !inScope[f] || p.Skip(f) || !strings.HasSuffix(f, ".rs") {
			return nil
		}
		data, err := r.ReadFile(f)
		if repo.IsRefused(err) {
			return nil // unchecked-file reports it
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", f, err)
		}
		toks, err := rustlex.Lex(data)
		if err != nil {
			var le *rustlex.Error
			loc := check.Location{Path: f}
			if errors.As(err, &le) {
				loc.Line, loc.Column = le.Line, le.Col
			}
			p.ReportSeverity(check.Medium, check.Finding{Location: loc, Key: "lex",
				Message: fmt.Sprintf("%s cannot be lexed, so its networking is not checked: %v", f, err)})
			return nil
		}
		for _, u := range rustlex.Network(toks) {
			if slices.ContainsFunc(allow, func(a InitNetworkingAllow) bool {
				return repo.Match(a.Path, f) && (a.API == "" || u.API == a.API || strings.HasPrefix(u.API, a.API+"::"))
			}) {
				continue
			}
			k := key{f, u.API}
			if h := hits[k]; h != nil {
				h.n++
				continue
			}
			hits[k] = &hit{use: u, n: 1, label: label}
			order = append(order, k)
		}
		return nil
	}
	for _, c := range crates {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, f := range crateSources(all, manifests, c.dir) {
			if err := scan(f, ""); err != nil {
				return err
			}
		}
		if !opts.Dependencies || c.name == "" {
			continue
		}
		lockPath, lock := findCargoLock(r, all, c.dir)
		if lock == nil {
			continue
		}
		vendor := vendorDir(r, path.Dir(lockPath))
		for _, dep := range cargoClosure(lock, c.name) {
			var dir string
			for _, cand := range []string{path.Join(vendor, dep.name+"-"+dep.version), path.Join(vendor, dep.name)} {
				if vendor != "" && slices.ContainsFunc(all, func(f string) bool { return strings.HasPrefix(f, cand+"/") }) {
					dir = cand
					break
				}
			}
			if dir == "" {
				if w, ok := netCrateName(dep.name); ok && dep.source != "" {
					p.Reportf(check.Location{Path: lockPath}, "dep:"+c.name+":"+dep.name,
						"%s depends on %s %s, %s; its sources are not vendored in the repository, so its use is not checked", c.name, dep.name, dep.version, w)
				}
				continue
			}
			label := fmt.Sprintf("dependency %s %s (vendored in %s/) ", dep.name, dep.version, dir)
			for _, f := range crateSources(all, nil, dir) {
				if err := scan(f, label); err != nil {
					return err
				}
			}
		}
	}
	for _, k := range order {
		h := hits[k]
		where := ""
		if h.n > 1 {
			where = fmt.Sprintf(" (%d places in this file, the first here)", h.n)
		}
		p.Reportf(check.Location{Path: k.file, Line: h.use.Line, Column: h.use.Col}, "net:"+k.api,
			"%suses %s: %s%s; the init program must not network beyond AF_UNIX", h.label, h.use.API, h.use.What, where)
	}
	return nil
}

// crateSources are the .rs files of the crate at dir that go into the
// program: not in a nested crate, a target directory, tests, benches,
// examples or a build script.
func crateSources(all []string, manifests map[string]string, dir string) []string {
	var out []string
	for _, f := range all {
		if !strings.HasSuffix(f, ".rs") || !(dir == "." || strings.HasPrefix(f, dir+"/")) {
			continue
		}
		rel := strings.TrimPrefix(f, dir+"/")
		if dir == "." {
			rel = f
		}
		top, _, _ := strings.Cut(rel, "/")
		if rel == "build.rs" || top == "tests" || top == "benches" || top == "examples" || top == "target" || top == "vendor" {
			continue
		}
		nested := false
		for d := path.Dir(f); d != dir && d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := manifests[d]; ok || path.Base(d) == "target" {
				nested = true
				break
			}
		}
		if !nested {
			out = append(out, f)
		}
	}
	return out
}

// findCargoLock is the Cargo.lock of the crate at dir: in it or in the
// nearest directory above (a workspace).
func findCargoLock(r *repo.Repo, all []string, dir string) (string, *cargoLockFile) {
	for d := dir; ; d = path.Dir(d) {
		name := path.Join(d, "Cargo.lock")
		if _, ok := slices.BinarySearch(all, name); ok {
			data, err := r.ReadFile(name)
			if err != nil {
				return "", nil
			}
			var lk cargoLockFile
			if toml.Unmarshal(data, &lk) != nil {
				return "", nil
			}
			return name, &lk
		}
		if d == "." || d == "/" {
			return "", nil
		}
	}
}

// vendorDir is where cargo vendor put the dependencies' sources: the
// directory of a [source.*] directory in .cargo/config.toml (beside the
// lock, or at the root), else vendor/ beside the lock.
func vendorDir(r *repo.Repo, lockDir string) string {
	for _, d := range slices.Compact([]string{lockDir, "."}) {
		for _, name := range []string{".cargo/config.toml", ".cargo/config"} {
			data, err := r.ReadFile(path.Join(d, name))
			if err != nil {
				continue
			}
			var c cargoConfig
			if toml.Unmarshal(data, &c) != nil {
				continue
			}
			for _, s := range c.Source {
				if s.Directory != "" && !path.IsAbs(s.Directory) {
					return path.Clean(path.Join(d, s.Directory))
				}
			}
		}
	}
	return path.Clean(path.Join(lockDir, "vendor"))
}

type cargoDep struct{ name, version, source string }

// cargoClosure is every package the root package reaches in the lock,
// sorted by name.
func cargoClosure(lk *cargoLockFile, root string) []cargoDep {
	type pkg struct {
		cargoDep
		deps []string
	}
	byName := map[string][]pkg{}
	for _, p := range lk.Package {
		byName[p.Name] = append(byName[p.Name], pkg{cargoDep{p.Name, p.Version, p.Source}, p.Dependencies})
	}
	// A dependency is "name" or "name version" or "name version (source)".
	resolve := func(spec string) []pkg {
		f := strings.Fields(spec)
		if len(f) == 0 {
			return nil
		}
		cands := byName[f[0]]
		if len(f) == 1 {
			return cands
		}
		for _, c := range cands {
			if c.version == f[1] {
				return []pkg{c}
			}
		}
		return nil
	}
	seen := map[cargoDep]bool{}
	var out []cargoDep
	var visit func(p pkg)
	visit = func(p pkg) {
		for _, d := range p.deps {
			for _, q := range resolve(d) {
				if seen[q.cargoDep] {
					continue
				}
				seen[q.cargoDep] = true
				out = append(out, q.cargoDep)
				visit(q)
			}
		}
	}
	for _, p := range byName[root] {
		if p.source == "" {
			visit(p)
		}
	}
	slices.SortFunc(out, func(a, b cargoDep) int { return strings.Compare(a.name+" "+a.version, b.name+" "+b.version) })
	return out
}

// netCrateName reports whether a crate is a networking crate by name.
func netCrateName(name string) (string, bool) {
	for _, n := range rustlex.NetCrates() {
		if strings.ReplaceAll(name, "-", "_") == n.Name {
			return n.What, true
		}
	}
	return "", false
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
