// Package depallow reads dependency lock files — Cargo.lock, go.mod with
// go.sum, package-lock.json (lockfile versions 1, 2 and 3) — and checks
// them against an allowlist: unknown packages, sources other than the
// registry, git dependencies without a pinned revision, and packages
// present in more than one version. Every finding names the lock file
// line.
package depallow

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"golang.org/x/mod/modfile"

	"github.com/nixgate/nixgate/internal/lazyre"
	"github.com/nixgate/nixgate/internal/schema"
)

// Ecosystems.
const (
	Cargo = "cargo"
	Go    = "go"
	Npm   = "npm"
)

// Package is one locked dependency.
type Package struct {
	Ecosystem string
	Name      string
	Version   string
	// Source is where it comes from, as the lock file says: a Cargo
	// source, an npm resolved URL, a go.mod replacement.
	Source string
	// Local packages (workspace members, path dependencies, npm links) are
	// part of the repository and are not checked.
	Local bool
	Line  int
	// Deps are the package's dependencies as Cargo.lock lists them: "name",
	// "name version" or "name version (source)".
	Deps []string
}

// Lock is a parsed lock file.
type Lock struct {
	Path     string
	Packages []Package
	// Unhashed lists go.mod requirements that go.sum has no hash for.
	Unhashed []Package
}

// Kind classifies a lock file by its base name; "" when it is none.
func Kind(name string) string {
	switch path.Base(name) {
	case "Cargo.lock":
		return Cargo
	case "go.mod":
		return Go
	case "package-lock.json", "npm-shrinkwrap.json":
		return Npm
	}
	return ""
}

// ParseCargoLock reads a Cargo.lock (format versions 1 to 4).
func ParseCargoLock(name string, data []byte) (*Lock, error) {
	var doc struct {
		Package []struct {
			Name         string   `toml:"name"`
			Version      string   `toml:"version"`
			Source       string   `toml:"source"`
			Dependencies []string `toml:"dependencies"`
		} `toml:"package"`
	}
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			l, c := de.Position()
			return nil, fmt.Errorf("%s:%d:%d: %s", name, l, c, de.Error())
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// The n-th [[package]] header is the n-th package.
	var lines []int
	for i, l := range bytes.Split(data, []byte("\n")) {
		if string(bytes.TrimSpace(l)) == "[[package]]" {
			lines = append(lines, i+1)
		}
	}
	lk := &Lock{Path: name}
	for i, p := range doc.Package {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		lk.Packages = append(lk.Packages, Package{Ecosystem: Cargo, Name: p.Name, Version: p.Version,
			Source: p.Source, Local: p.Source == "", Line: line, Deps: p.Dependencies})
	}
	return lk, nil
}

// Reachable keeps the packages of a Cargo.lock that the root packages (by
// name) depend on, directly or not, and the roots themselves: the
// dependencies of one program in a workspace's shared lock. It reports
// false when no root is in the lock.
func Reachable(lk *Lock, roots []string) (*Lock, bool) {
	byName := map[string][]int{}
	for i, p := range lk.Packages {
		byName[p.Name] = append(byName[p.Name], i)
	}
	keep := make([]bool, len(lk.Packages))
	var queue []int
	for _, r := range roots {
		for _, i := range byName[r] {
			if !keep[i] {
				keep[i] = true
				queue = append(queue, i)
			}
		}
	}
	if len(queue) == 0 {
		return lk, false
	}
	for len(queue) > 0 {
		p := lk.Packages[queue[0]]
		queue = queue[1:]
		for _, d := range p.Deps {
			f := strings.Fields(d)
			if len(f) == 0 {
				continue
			}
			for _, i := range byName[f[0]] {
				if keep[i] || len(f) > 1 && lk.Packages[i].Version != f[1] {
					continue
				}
				keep[i] = true
				queue = append(queue, i)
			}
		}
	}
	out := &Lock{Path: lk.Path, Unhashed: lk.Unhashed}
	for i, p := range lk.Packages {
		if keep[i] {
			out.Packages = append(out.Packages, p)
		}
	}
	return out, true
}

// ParseGoMod reads go.mod and, when sum is not nil, checks that go.sum
// holds a hash for every requirement.
func ParseGoMod(name string, data, sum []byte) (*Lock, error) {
	f, err := modfile.Parse(name, data, nil)
	if err != nil {
		return nil, err
	}
	repl := map[string]*modfile.Replace{}
	for _, r := range f.Replace {
		repl[r.Old.Path+"@"+r.Old.Version] = r
		if r.Old.Version == "" {
			repl[r.Old.Path] = r
		}
	}
	sums := map[string]bool{}
	for _, l := range strings.Split(string(sum), "\n") {
		fs := strings.Fields(l)
		if len(fs) == 3 && !strings.HasSuffix(fs[1], "/go.mod") {
			sums[fs[0]+"@"+fs[1]] = true
		}
	}
	lk := &Lock{Path: name}
	for _, r := range f.Require {
		p := Package{Ecosystem: Go, Name: r.Mod.Path, Version: r.Mod.Version, Line: r.Syntax.Start.Line}
		rp := repl[r.Mod.Path+"@"+r.Mod.Version]
		if rp == nil {
			rp = repl[r.Mod.Path]
		}
		if rp != nil {
			p.Line = rp.Syntax.Start.Line
			if rp.New.Version == "" {
				p.Source = "replace => " + rp.New.Path + " (a local directory)"
			} else {
				p.Source = "replace => " + rp.New.Path + " " + rp.New.Version
			}
		}
		lk.Packages = append(lk.Packages, p)
		if sum != nil && rp == nil && !sums[r.Mod.Path+"@"+r.Mod.Version] {
			lk.Unhashed = append(lk.Unhashed, p)
		}
	}
	return lk, nil
}

// ParseNpmLock reads package-lock.json or npm-shrinkwrap.json.
func ParseNpmLock(name string, data []byte) (*Lock, error) {
	doc, err := schema.ParseJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", name, err)
	}
	root, ok := doc.Value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a package lock (want a JSON object)", name)
	}
	lk := &Lock{Path: name}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	if pkgs, ok := root["packages"].(map[string]any); ok {
		keys := make([]string, 0, len(pkgs))
		for k := range pkgs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			e, ok := pkgs[k].(map[string]any)
			i := strings.LastIndex(k, "node_modules/")
			if !ok || k == "" || i < 0 {
				continue // the root project, or a workspace directory
			}
			n := str(e, "name")
			if n == "" {
				n = k[i+len("node_modules/"):]
			}
			link, _ := e["link"].(bool)
			src := str(e, "resolved")
			lk.Packages = append(lk.Packages, Package{Ecosystem: Npm, Name: n, Version: str(e, "version"), Source: src,
				Local: link || strings.HasPrefix(src, "file:"), Line: doc.At("/packages/" + escape(k)).Line})
		}
		return lk, nil
	}
	var walk func(deps map[string]any, ptr string)
	walk = func(deps map[string]any, ptr string) {
		keys := make([]string, 0, len(deps))
		for k := range deps {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			e, ok := deps[k].(map[string]any)
			if !ok {
				continue
			}
			p := ptr + "/" + escape(k)
			v, src := str(e, "version"), str(e, "resolved")
			if src == "" && isGitSpec(v) {
				src = v
			}
			lk.Packages = append(lk.Packages, Package{Ecosystem: Npm, Name: k, Version: v, Source: src,
				Local: strings.HasPrefix(v, "file:") || strings.HasPrefix(src, "file:"), Line: doc.At(p).Line})
			if sub, ok := e["dependencies"].(map[string]any); ok {
				walk(sub, p+"/dependencies")
			}
		}
	}
	if deps, ok := root["dependencies"].(map[string]any); ok {
		walk(deps, "/dependencies")
	}
	return lk, nil
}

func escape(k string) string { return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1") }

func isGitSpec(s string) bool {
	for _, p := range []string{"git+", "git://", "github:", "gitlab:", "bitbucket:"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Policy is what a lock is checked against.
type Policy struct {
	// Allow holds patterns "name" or "name@version" where "*" matches
	// any run of characters (slashes included).
	Allow []string
	// Registries are extra allowed source prefixes (Cargo sources such as
	// "sparse+https://my.registry/", npm resolved URL prefixes).
	Registries []string
	// AllowDuplicates names packages that may be locked in several
	// versions.
	AllowDuplicates []string
}

// Finding is one problem in a lock file.
type Finding struct {
	Line int
	// Kind is "unknown", "source", "unpinned-git", "duplicate" or
	// "unhashed".
	Kind    string
	Package string
	Message string
}

var defaultRegistries = map[string][]string{
	Cargo: {"registry+https://github.com/rust-lang/crates.io-index", "sparse+https://index.crates.io/"},
	Npm:   {"https://registry.npmjs.org/"},
}

var hex40 = lazyre.New(`^[0-9a-f]{40}$`)

// Check checks a lock against a policy.
func Check(lk *Lock, pol Policy) []Finding {
	var out []Finding
	versions := map[string][]Package{}
	var order []string
	for _, p := range lk.Packages {
		if p.Local {
			continue
		}
		id := p.Name + "@" + p.Version
		if !allowed(pol.Allow, p.Name, p.Version) {
			out = append(out, Finding{Line: p.Line, Kind: "unknown", Package: id,
				Message: fmt.Sprintf("%s %s is not on the allowlist", p.Name, p.Version)})
		}
		if f, ok := sourceFinding(p, pol); ok {
			out = append(out, f)
		}
		if _, seen := versions[p.Name]; !seen {
			order = append(order, p.Name)
		}
		if !slices.ContainsFunc(versions[p.Name], func(q Package) bool { return q.Version == p.Version }) {
			versions[p.Name] = append(versions[p.Name], p)
		}
	}
	for _, n := range order {
		vs := versions[n]
		if len(vs) < 2 || slices.ContainsFunc(pol.AllowDuplicates, func(g string) bool { return match(g, n) }) {
			continue
		}
		slices.SortStableFunc(vs, func(a, b Package) int { return a.Line - b.Line })
		var list []string
		for _, v := range vs {
			list = append(list, fmt.Sprintf("%s (line %d)", v.Version, v.Line))
		}
		out = append(out, Finding{Line: vs[1].Line, Kind: "duplicate", Package: n,
			Message: fmt.Sprintf("%s is locked in %d versions: %s", n, len(vs), strings.Join(list, ", "))})
	}
	for _, p := range lk.Unhashed {
		out = append(out, Finding{Line: p.Line, Kind: "unhashed", Package: p.Name + "@" + p.Version,
			Message: fmt.Sprintf("%s %s has no hash in go.sum: its content is not pinned", p.Name, p.Version)})
	}
	slices.SortStableFunc(out, func(a, b Finding) int { return a.Line - b.Line })
	return out
}

func sourceFinding(p Package, pol Policy) (Finding, bool) {
	id := p.Name + "@" + p.Version
	src := p.Source
	switch p.Ecosystem {
	case Go:
		if src != "" {
			return Finding{Line: p.Line, Kind: "source", Package: id,
				Message: fmt.Sprintf("%s %s is not fetched from its module path: %s", p.Name, p.Version, src)}, true
		}
		return Finding{}, false
	case Cargo:
		if strings.HasPrefix(src, "git+") {
			u, commit, _ := strings.Cut(strings.TrimPrefix(src, "git+"), "#")
			if !strings.Contains(u, "?rev=") && !strings.Contains(u, "&rev=") {
				return Finding{Line: p.Line, Kind: "unpinned-git", Package: id,
					Message: fmt.Sprintf("%s %s comes from git %s without a pinned rev (locked at %s; `cargo update` moves it)", p.Name, p.Version, u, short(commit))}, true
			}
			return Finding{Line: p.Line, Kind: "source", Package: id,
				Message: fmt.Sprintf("%s %s comes from git (%s), not from a registry", p.Name, p.Version, u)}, true
		}
	case Npm:
		if src == "" {
			return Finding{}, false // bundled, or a lock without resolved URLs
		}
		if isGitSpec(src) {
			_, frag, _ := strings.Cut(src, "#")
			if !hex40().MatchString(frag) {
				return Finding{Line: p.Line, Kind: "unpinned-git", Package: id,
					Message: fmt.Sprintf("%s comes from git %s without a pinned commit", p.Name, src)}, true
			}
			return Finding{Line: p.Line, Kind: "source", Package: id,
				Message: fmt.Sprintf("%s %s comes from git (%s), not from a registry", p.Name, p.Version, src)}, true
		}
	}
	for _, r := range append(slices.Clone(defaultRegistries[p.Ecosystem]), pol.Registries...) {
		if strings.HasPrefix(src, r) {
			return Finding{}, false
		}
	}
	return Finding{Line: p.Line, Kind: "source", Package: id,
		Message: fmt.Sprintf("%s %s comes from %s, not from an allowed registry", p.Name, p.Version, src)}, true
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func allowed(patterns []string, name, version string) bool {
	for _, g := range patterns {
		n, v, hasV := strings.Cut(g, "@")
		if strings.HasPrefix(g, "@") { // npm scope: @scope/pkg[@version]
			n2, v2, ok2 := strings.Cut(g[1:], "@")
			n, v, hasV = "@"+n2, v2, ok2
		}
		if match(n, name) && (!hasV || match(v, version)) {
			return true
		}
	}
	return false
}

// match matches a glob where "*" spans any characters.
func match(glob, s string) bool {
	parts := strings.Split(glob, "*")
	if len(parts) == 1 {
		return glob == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
