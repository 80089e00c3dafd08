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

// RustUnsafeApproval approves unsafe code by the policy.
type RustUnsafeApproval struct {
	Path   string `toml:"path"`
	Item   string `toml:"item"`
	Reason string `toml:"reason"`
}

// RustUnsafeOptions tunes rust-unsafe.
type RustUnsafeOptions struct {
	Crates        []string             `toml:"crates" doc:"the init program's crates (directories or package names; [project] init sets them): all their code is checked at the check's severity; empty: every crate's non-test code, at medium"`
	Mode          string               `toml:"mode" doc:"require-approval: unsafe needs a // SAFETY: comment directly above or an approval; deny: every unsafe needs an approval"`
	Approvals     []RustUnsafeApproval `toml:"approvals" doc:"approved unsafe code: {path = \"init/src/io.rs\", item = \"Port::read\", reason = \"why it is sound\"}; an empty item approves the whole file"`
	RequireForbid bool                 `toml:"require-forbid" doc:"every crate root must carry #![forbid(unsafe_code)] (or Cargo.toml [lints.rust] unsafe_code = \"forbid\")"`
}

// ApplyProject takes the init program from [project] init unless crates
// is set.
func (o *RustUnsafeOptions) ApplyProject(p policy.Project) {
	if len(o.Crates) == 0 {
		o.Crates = slices.Clone(p.Init)
	}
}

// RustUnsafe enforces R13's unsafe policy.
var RustUnsafe = &check.Check{
	ID:       "rust-unsafe",
	Title:    "Unsafe Rust without approval",
	Severity: check.High,
	Rules:    []string{"R13"},
	Why: "Every unsafe block, fn, impl or trait is a place where the compiler no longer proves memory safety; " +
		"in a small trusted program each one must be justified where it is written (a // SAFETY: comment) or approved " +
		"by the policy with a reason. The sites are found with a Rust lexer, so unsafe in strings and comments does not count. " +
		"The rule is for the init program: the crates the policy names ([project] init or crates) are checked whole at high; " +
		"with none named, every crate's non-test code is reported at medium, and test code (#[cfg(test)], #[test], " +
		"tests/, benches/, examples/) is left out.",
	Remediation: "Remove the unsafe code, or write a // SAFETY: comment directly above it explaining why it is sound " +
		"(mode require-approval), or add an approval with a reason to [checks.rust-unsafe] in nixgate.toml.",
	Scope:   check.ScopeRepo,
	Options: &RustUnsafeOptions{Mode: "require-approval"},
	Run:     runRustUnsafe,
}

type cargoManifest struct {
	Package *struct {
		Name string `toml:"name"`
	} `toml:"package"`
	Lib *struct {
		Path string `toml:"path"`
	} `toml:"lib"`
	Bin []struct {
		Path string `toml:"path"`
	} `toml:"bin"`
	Lints struct {
		Rust map[string]any `toml:"rust"`
	} `toml:"lints"`
}

func runRustUnsafe(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*RustUnsafeOptions)
	if opts.Mode != "require-approval" && opts.Mode != "deny" {
		return fmt.Errorf("mode %q: want require-approval or deny", opts.Mode)
	}
	var approvals []RustUnsafeApproval
	for _, a := range opts.Approvals {
		if strings.TrimSpace(a.Reason) == "" {
			p.Reportf(check.Location{}, "approval:"+a.Path+":"+a.Item,
				"the approval of unsafe code in %s %s has no reason, so it approves nothing", a.Path, a.Item)
			continue
		}
		approvals = append(approvals, a)
	}
	files := p.Repo.Files()
	// Crates: directories with a Cargo.toml.
	manifests := map[string]*cargoManifest{}
	for _, f := range files {
		if path.Base(f) != "Cargo.toml" || p.Skip(f) {
			continue
		}
		data, err := p.Repo.ReadFile(f)
		if err != nil {
			continue
		}
		var m cargoManifest
		if err := toml.Unmarshal(data, &m); err != nil {
			p.ReportSeverity(check.Medium, check.Finding{Location: check.Location{Path: f}, Key: "manifest",
				Message: fmt.Sprintf("%s does not parse, its crate is not checked: %v", f, err)})
			continue
		}
		manifests[path.Dir(f)] = &m
	}
	// The init program: the crates the policy names, by directory, by
	// directory name or by package name. Without one, every crate.
	named := len(opts.Crates) > 0
	var crates []string
	if named {
		for _, c := range opts.Crates {
			c = path.Clean(strings.Trim(c, "/"))
			found := false
			for d, m := range manifests {
				if m.Package != nil && (d == c || path.Base(d) == c || m.Package.Name == c) {
					crates = append(crates, d)
					found = true
				}
			}
			if !found {
				crates = append(crates, c) // a directory without a Cargo.toml of its own
			}
		}
	} else {
		for d, m := range manifests {
			if m.Package != nil {
				crates = append(crates, d)
			}
		}
	}
	slices.Sort(crates)
	crates = slices.Compact(crates)
	isCrate := map[string]bool{}
	for _, c := range crates {
		isCrate[c] = true
	}
	// Each .rs file belongs to the nearest directory above it that has a
	// Cargo.toml; files in a build directory (target/) belong to none.
	byCrate := map[string][]string{}
	for _, f := range files {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !strings.HasSuffix(f, ".rs") || p.Skip(f) {
			continue
		}
		for d := path.Dir(f); ; d = path.Dir(d) {
			if path.Base(d) == "target" {
				break
			}
			_, manifest := manifests[d]
			if isCrate[d] {
				byCrate[d] = append(byCrate[d], f)
				break
			}
			if manifest || d == "." || d == "/" {
				break
			}
		}
	}
	for _, c := range crates {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rs := byCrate[c]
		for _, f := range rs {
			if !named && rustTestPath(c, f) {
				continue
			}
			if err := checkRustFile(p, opts, approvals, f, named); err != nil {
				return err
			}
		}
		if opts.RequireForbid {
			checkForbid(p, c, manifests[c], rs)
		}
	}
	return nil
}

// rustTestPath reports whether a file of crate c is test, bench or
// example code by where it is: tests/, benches/, examples/ of the crate, a
// tests directory below src/, or a tests.rs, *_test.rs, *_tests.rs file.
func rustTestPath(c, f string) bool {
	rel := f
	if c != "." {
		rel = strings.TrimPrefix(f, c+"/")
	}
	segs := strings.Split(rel, "/")
	if len(segs) > 1 && (segs[0] == "tests" || segs[0] == "benches" || segs[0] == "examples") {
		return true
	}
	for _, s := range segs[:len(segs)-1] {
		if s == "tests" || s == "test" {
			return true
		}
	}
	base := strings.TrimSuffix(segs[len(segs)-1], ".rs")
	return base == "tests" || base == "test" || strings.HasSuffix(base, "_test") || strings.HasSuffix(base, "_tests")
}

func checkRustFile(p *check.Pass, opts *RustUnsafeOptions, approvals []RustUnsafeApproval, f string, initProgram bool) error {
	data, err := p.Repo.ReadFile(f)
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
			Message: fmt.Sprintf("%s cannot be lexed, so its unsafe code is not checked: %v", f, err)})
		return nil
	}
	seen := map[string]int{}
	for _, s := range rustlex.Unsafe(toks) {
		if s.Test && !initProgram {
			continue // test code, outside the init program
		}
		id := s.Kind + ":" + s.Item
		seen[id]++
		if slices.ContainsFunc(approvals, func(a RustUnsafeApproval) bool {
			return repo.Match(a.Path, f) && (a.Item == "" || a.Item == s.Item || strings.HasSuffix(s.Item, "::"+a.Item))
		}) {
			continue
		}
		if opts.Mode == "require-approval" && s.Safety {
			continue
		}
		where := ""
		if s.Item != "" {
			where = " " + s.Item
		}
		var why string
		if opts.Mode == "deny" {
			why = "unsafe code is denied and it has no approval in the policy"
		} else {
			why = "it has no // SAFETY: comment directly above and no approval in the policy"
		}
		fd := check.Finding{Location: check.Location{Path: f, Line: s.Line, Column: s.Col}, Key: fmt.Sprintf("unsafe:%s:%d", id, seen[id]),
			Message: fmt.Sprintf("unsafe %s%s: %s", s.Kind, where, why)}
		if initProgram {
			p.Report(fd)
		} else {
			p.ReportSeverity(check.Medium, fd) // no init program named: every crate, at medium
		}
	}
	return nil
}

func checkForbid(p *check.Pass, crate string, m *cargoManifest, rs []string) {
	if m != nil {
		switch v := m.Lints.Rust["unsafe_code"].(type) {
		case string:
			if v == "forbid" {
				return
			}
		case map[string]any:
			if v["level"] == "forbid" {
				return
			}
		}
	}
	var roots []string
	if m != nil && m.Lib != nil && m.Lib.Path != "" {
		roots = append(roots, path.Join(crate, m.Lib.Path))
	}
	if m != nil {
		for _, b := range m.Bin {
			if b.Path != "" {
				roots = append(roots, path.Join(crate, b.Path))
			}
		}
	}
	for _, f := range rs {
		rel := strings.TrimPrefix(f, crate+"/")
		if rel == "src/lib.rs" || rel == "src/main.rs" || path.Dir(rel) == "src/bin" {
			roots = append(roots, f)
		}
	}
	slices.Sort(roots)
	for _, r := range slices.Compact(roots) {
		data, err := p.Repo.ReadFile(r)
		if err != nil {
			continue
		}
		toks, _ := rustlex.Lex(data)
		if ok, _ := rustlex.ForbidsUnsafe(toks); !ok {
			p.Reportf(check.Location{Path: r, Line: 1}, "forbid:"+r,
				"crate root %s lacks #![forbid(unsafe_code)], which the policy requires", r)
		}
	}
}
