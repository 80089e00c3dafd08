package checks

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakelock"
	"github.com/nixgate/nixgate/internal/policy"
)

// LockConditionOptions tunes lock-condition; the [lock] table of the policy
// sets them.
type LockConditionOptions struct {
	NixpkgsKeys []string          `toml:"nixpkgs-keys" doc:"root inputs that are nixpkgs and must exist in every flake.lock ([lock] nixpkgs-keys)"`
	Condition   string            `toml:"condition" doc:"CEL condition every nixpkgs input must satisfy ([lock] condition), e.g. \"supportedRefs.contains(gitRef) && has(numDaysOld) && numDaysOld < 30 && owner == 'NixOS'\""`
	Conditions  map[string]string `toml:"conditions" doc:"CEL conditions by input path glob ([lock.conditions]; * is one path element, ** any path), for any input"`
}

// UseLockPolicy takes the [lock] table.
func (o *LockConditionOptions) UseLockPolicy(l policy.Lock) {
	if l.NixpkgsKeys != nil {
		o.NixpkgsKeys = l.NixpkgsKeys
	}
	if l.Condition != "" {
		o.Condition = l.Condition
	}
	if l.Conditions != nil {
		o.Conditions = l.Conditions
	}
}

// LockCondition enforces the policy's own conditions on lock inputs.
var LockCondition = &check.Check{
	ID:       "lock-condition",
	Title:    "A flake input fails a condition of the policy",
	Severity: check.High,
	Rules:    []string{"R5"},
	Why: "Teams write their own rules for what a lock may pin (how old, which branch, whose repository), as flake-checker's " +
		"CEL conditions do. The [lock] table states them once for every flake.lock; a nixpkgs key that is missing is " +
		"reported too, because a condition on an input that is not there checks nothing. Variables: " +
		"gitRef, numDaysOld, owner, supportedRefs, refStatuses (as flake-checker), input, type, source, repo, host, rev, " +
		"locked, nixpkgs, status.",
	Remediation: "Update or re-point the input in flake.nix until the condition holds, then re-lock; or change the " +
		"condition under [lock] in nixgate.toml after review.",
	Scope:   check.ScopeRepo,
	Options: &LockConditionOptions{},
	Run:     runLockCondition,
}

func runLockCondition(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*LockConditionOptions)
	if opts.Condition == "" && len(opts.Conditions) == 0 && len(opts.NixpkgsKeys) == 0 {
		return nil
	}
	var nixpkgsCond *flakelock.Condition
	var err error
	if opts.Condition != "" {
		if nixpkgsCond, err = flakelock.CompileCondition(opts.Condition); err != nil {
			return fmt.Errorf("condition: %w", err)
		}
	}
	type glob struct {
		pattern string
		cond    *flakelock.Condition
	}
	var globs []glob
	for _, k := range slices.Sorted(mapKeys(opts.Conditions)) {
		c, err := flakelock.CompileCondition(opts.Conditions[k])
		if err != nil {
			return fmt.Errorf("conditions.%q: %w", k, err)
		}
		globs = append(globs, glob{k, c})
	}
	files, err := lockFiles(ctx, p)
	if err != nil {
		return err
	}
	data, now := flakelock.Branches(), timeNow()
	for _, lf := range files {
		if lf.Err != nil {
			continue
		}
		for _, k := range opts.NixpkgsKeys {
			if lf.Lock.RootInput(k) < 0 {
				p.Reportf(check.Location{Path: lf.Path}, "missing-key:"+k,
					"no nixpkgs input %q in %s: [lock] nixpkgs-keys names it, so its conditions check nothing", k, lf.Path)
			}
		}
		for _, u := range lf.Used {
			facts := flakelock.FactsOf(u.Node, u.PathString(), data, now)
			judge := func(c *flakelock.Condition, what string) {
				ok, err := c.Eval(facts)
				switch {
				case err != nil:
					p.Reportf(nodeLoc(lf, u), inputKey(u)+":error:"+c.Source,
						"input %s: the %s condition could not be evaluated: %v", inputName(u), what, err)
				case !ok:
					p.Reportf(nodeLoc(lf, u), inputKey(u)+":"+c.Source,
						"input %s fails the %s condition `%s` (%s)", inputName(u), what, c.Source, describeFacts(facts))
				}
			}
			if nixpkgsCond != nil && nixpkgsLike(u, opts.NixpkgsKeys) {
				judge(nixpkgsCond, "nixpkgs")
			}
			for _, g := range globs {
				paths := append([]string{u.PathString()}, u.AliasStrings(len(u.Aliases))...)
				if slices.ContainsFunc(paths, func(s string) bool { return matchInput(g.pattern, s) }) {
					judge(g.cond, fmt.Sprintf("%q", g.pattern))
				}
			}
		}
	}
	return nil
}

// matchInput matches an input path against a glob of [lock.conditions]:
// "*" is one path element ("nixpkgs", "home-manager/*"), "**" any path.
func matchInput(pattern, input string) bool {
	if pattern == "**" {
		return true
	}
	if strings.HasSuffix(pattern, "/**") {
		pre := strings.TrimSuffix(pattern, "/**")
		if ok, _ := path.Match(pre, input); ok {
			return true
		}
		for i := strings.IndexByte(input, '/'); i >= 0; i = next(input, i) {
			if ok, _ := path.Match(pre, input[:i]); ok {
				return true
			}
		}
		return false
	}
	ok, _ := path.Match(pattern, input)
	return ok
}

func next(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

func describeFacts(f flakelock.Facts) string {
	var parts []string
	if f.GitRef != "" {
		parts = append(parts, "gitRef "+f.GitRef)
	}
	if f.HasDays {
		parts = append(parts, fmt.Sprintf("numDaysOld %d", f.NumDaysOld))
	}
	if f.Owner != "" {
		parts = append(parts, "owner "+f.Owner)
	}
	if f.Status != "" {
		parts = append(parts, "status "+f.Status)
	}
	parts = append(parts, "source "+f.Source)
	return strings.Join(parts, ", ")
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
