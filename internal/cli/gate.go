package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/policy"
	"github.com/nixgate/nixgate/internal/repo"
)

// gateFlags are the flags of the commands that run checks of the registry
// under a policy: --policy, --fail-on, --only, --skip, --baseline.
type gateFlags struct {
	policy   string
	failOn   string
	only     []string
	skip     []string
	baseline string
	scopes   []check.Scope
}

// add registers the flags; scopes are the check scopes the command runs
// (for --only/--skip validation and completion).
func (g *gateFlags) add(cmd *cobra.Command, policyDefault string, scopes ...check.Scope) {
	g.scopes = scopes
	fl := cmd.Flags()
	fl.StringVar(&g.policy, "policy", "", "policy `FILE` (default: "+policyDefault+", else the built-in policy)")
	fl.StringVar(&g.failOn, "fail-on", "", "fail on findings at or above `SEVERITY`: info, low, medium, high, critical (default: the policy's, high)")
	fl.StringSliceVar(&g.only, "only", nil, "run only these check `IDs` (comma-separated, globs allowed)")
	fl.StringSliceVar(&g.skip, "skip", nil, "skip these check `IDs` (comma-separated, globs allowed)")
	fl.StringVar(&g.baseline, "baseline", "", "suppress the findings listed in baseline `FILE` (default: the policy's baseline)")
	_ = cmd.RegisterFlagCompletionFunc("fail-on", completeSeverities)
	_ = cmd.RegisterFlagCompletionFunc("only", g.completeIDs)
	_ = cmd.RegisterFlagCompletionFunc("skip", g.completeIDs)
}

// completeIDs completes the check IDs of the command's own scopes.
func (g *gateFlags) completeIDs(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	var s []string
	for _, sc := range g.scopes {
		for _, c := range checks.InScope(sc) {
			s = append(s, c.ID+"\t"+c.Title)
		}
	}
	return s, cobra.ShellCompDirectiveNoFileComp
}

// gate is what the flags resolve to for one run.
type gate struct {
	policy   *policy.Policy
	failOn   check.Severity
	checks   []*check.Check
	settings map[string]check.Settings
	baseline *check.Baseline
}

// resolve loads the policy for dir (nixgate.toml read through a root
// confined to dir, or --policy) and its baseline, and selects the checks of
// the command's scopes. Naming a check with --only runs it even when the
// policy leaves it off.
func (g *gateFlags) resolve(dir string) (*gate, error) {
	p, err := loadPolicy(dir, g.policy)
	if err != nil {
		return nil, err
	}
	r := &gate{policy: p, failOn: p.FailOn, settings: p.Settings}
	if g.failOn != "" {
		if r.failOn, err = check.ParseSeverity(g.failOn); err != nil {
			return nil, usagef("--fail-on %q: %w", g.failOn, err)
		}
	}
	if r.checks, err = selectChecks(g.scopes, g.only, g.skip); err != nil {
		return nil, err
	}
	if len(g.only) > 0 {
		r.settings = maps.Clone(p.Settings)
		for _, c := range r.checks {
			s := r.settings[c.ID]
			s.Enabled = true
			r.settings[c.ID] = s
		}
	}
	if r.baseline, err = loadBaseline(dir, p, g.baseline); err != nil {
		return nil, err
	}
	return r, nil
}

// prepare starts the checks' own set-up (check.Prepare) for a run on input.
func (g *gate) prepare(input any) { check.Prepare(g.checks, g.settings, input) }

// runs reports whether the run includes the check id, enabled.
func (g *gate) runs(id string) bool {
	return slices.ContainsFunc(g.checks, func(c *check.Check) bool { return c.ID == id && check.Enabled(c, g.settings) })
}

// selectChecks applies --only and --skip to the checks of the scopes.
func selectChecks(scopes []check.Scope, only, skip []string) ([]*check.Check, error) {
	var all []*check.Check
	for _, sc := range scopes {
		all = append(all, checks.InScope(sc)...)
	}
	match := func(globs []string, id string) bool {
		return slices.ContainsFunc(globs, func(g string) bool {
			ok, _ := filepath.Match(g, id)
			return ok
		})
	}
	for _, g := range append(slices.Clone(only), skip...) {
		if _, err := filepath.Match(g, ""); err != nil {
			return nil, usagef("bad check ID glob %q: %w", g, err)
		}
		if !slices.ContainsFunc(all, func(c *check.Check) bool { return match([]string{g}, c.ID) }) {
			var names []string
			for _, sc := range scopes {
				names = append(names, string(sc))
			}
			hint := "see `nixgate checks` for the IDs"
			if c := checks.ByID(g); c != nil {
				hint = fmt.Sprintf("%s is a %s check; this command runs %s checks", g, c.Scope, strings.Join(names, " and "))
			}
			return nil, withHint(usagef("no %s check matches %q", strings.Join(names, " or "), g), hint)
		}
	}
	var out []*check.Check
	for _, c := range all {
		if (len(only) == 0 || match(only, c.ID)) && !match(skip, c.ID) {
			out = append(out, c)
		}
	}
	return out, nil
}

// policyLimit caps a policy or baseline file; the policy sets the limits
// of every other file.
const policyLimit = 4 << 20

// loadPolicy finds and loads the policy for dir: the file --policy names,
// else dir/nixgate.toml read through a root confined to dir (a symlink out
// of the repository, a FIFO or an oversized file is refused, never read),
// else the built-in default.
func loadPolicy(dir, explicit string) (*policy.Policy, error) {
	var (
		data []byte
		err  error
		name = explicit
	)
	if explicit != "" {
		data, err = repo.ReadRegular(explicit, policyLimit)
		if err != nil {
			return nil, usagef("policy: --policy %s: %w", explicit, err)
		}
	} else {
		name = filepath.Join(dir, policy.FileName)
		data, err = repo.ReadConfined(dir, policy.FileName, policyLimit)
		if errors.Is(err, fs.ErrNotExist) {
			return policy.Default(checks.All()), nil
		}
		if err != nil {
			return nil, withHint(usagef("policy: %s is not read: %s", name, repo.Describe(err)),
				"make nixgate.toml a regular file in the repository, or pass --policy FILE")
		}
	}
	p, err := policy.Parse(name, data, checks.All())
	if err != nil {
		return nil, usagef("policy: %w", err)
	}
	return p, nil
}

// loadBaseline reads the baseline --baseline names (a path the user gave),
// else the policy's `baseline`, relative to the policy's directory and
// confined to it: a baseline path cannot lead out of the repository.
func loadBaseline(dir string, p *policy.Policy, explicit string) (*check.Baseline, error) {
	var (
		data []byte
		err  error
		name string
	)
	switch {
	case explicit != "":
		name = explicit
		if data, err = repo.ReadRegular(explicit, policyLimit); err != nil {
			return nil, usagef("baseline: --baseline %s: %w", explicit, err)
		}
	case p.Baseline != "":
		base := dir
		if p.Path != "" {
			base = filepath.Dir(p.Path)
		}
		name = filepath.ToSlash(filepath.Join(relTo(dir, base), p.Baseline))
		if data, err = repo.ReadConfined(base, filepath.ToSlash(p.Baseline), policyLimit); err != nil {
			return nil, usagef("baseline: the policy's baseline %q is not read: %s", p.Baseline, repo.Describe(err))
		}
	default:
		return nil, nil
	}
	b, err := policy.ParseBaseline(name, data)
	if err != nil {
		return nil, usagef("baseline: %w", err)
	}
	return b, nil
}

// relTo returns target relative to dir when it lies inside it, else target.
func relTo(dir, target string) string {
	rel, err := filepath.Rel(dir, target)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return target
	}
	return rel
}
