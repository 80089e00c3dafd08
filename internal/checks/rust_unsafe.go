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
	Crates        []string             `toml:"crates" doc:"crate directories to check; empty: every directory whose Cargo.toml has a [package]"`
	Mode          string               `toml:"mode" doc:"require-approval: unsafe needs a // SAFETY: comment directly above or an approval; deny: every unsafe needs an approval"`
	Approvals     []RustUnsafeApproval `toml:"approvals" doc:"approved unsafe code: {path = \"init/src/io.rs\", item = \"Port::read\", reason = \"why it is sound\"}; an empty item approves the whole file"`
	RequireForbid bool                 `toml:"require-forbid" doc:"every crate root must carry #![forbid(unsafe_code)] (or Cargo.toml [lints.rust] unsafe_code = \"forbid\")"`
}

// RustUnsafe enforces R13's unsafe policy.
var RustUnsafe = &check.Check{
	ID:       "rust-unsafe",
	Title:    "Unsafe Rust without approval",
	Severity: check.High,
	Rules:    []string{"R13"},
	Why: "Every unsafe block, fn, impl or trait is a place where the compiler no longer proves memory safety; " +
		"in a small trusted program each one must be justified where it is written (a // SAFETY: comment) or approved " +
		"by the policy with a reason. The sites are found with a Rust lexer, so unsafe in strings and comments does not count.",
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
	var crates []string
	if len(opts.Crates) > 0 {
		for _, c := range opts.Crates {
			crates = append(crates, path.Clean(strings.Trim(c, "/")))
		}
	} else {
		for d, m := range manifests {
			if m.Package != nil {
				crates = append(crates, d)
			}
		}
	}
	slices.Sort(crates)
	under := func(f, dir string) bool { return dir == "." || strings.HasPrefix(f, dir+"/") }
	for _, c := range crates {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var rs []string
		for _, f := range files {
			if !strings.HasSuffix(f, ".rs") || !under(f, c) || p.Skip(f) {
				continue
			}
			// not in a nested crate or the build directory
			nested := false
			for d := path.Dir(f); d != c && d != "." && d != "/"; d = path.Dir(d) {
				if _, ok := manifests[d]; ok || path.Base(d) == "target" {
					nested = true
					break
				}
			}
			if !nested {
				rs = append(rs, f)
			}
		}
		for _, f := range rs {
			if err := checkRustFile(p, opts, approvals, f); err != nil {
				return err
			}
		}
		if opts.RequireForbid {
			checkForbid(p, c, manifests[c], rs)
		}
	}
	return nil
}

func checkRustFile(p *check.Pass, opts *RustUnsafeOptions, approvals []RustUnsafeApproval, f string) error {
	data, err := p.Repo.ReadFile(f)
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
		p.Reportf(check.Location{Path: f, Line: s.Line, Column: s.Col}, fmt.Sprintf("unsafe:%s:%d", id, seen[id]),
			"unsafe %s%s: %s", s.Kind, where, why)
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
