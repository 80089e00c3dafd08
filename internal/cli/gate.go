package cli

import (
	"maps"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/policy"
)

// gateFlags are the flags of the commands that run one scope of the
// registry under a policy (check, host): --policy, --fail-on, --only, --skip.
type gateFlags struct {
	policy string
	failOn string
	only   []string
	skip   []string
}

func (g *gateFlags) add(cmd *cobra.Command, policyDefault, idsName string) {
	fl := cmd.Flags()
	fl.StringVar(&g.policy, "policy", "", "policy `FILE` (default: "+policyDefault+", else the built-in policy)")
	fl.StringVar(&g.failOn, "fail-on", "", "fail on findings at or above `SEVERITY`: info, low, medium, high, critical (default: the policy's, high)")
	fl.StringSliceVar(&g.only, "only", nil, "run only these "+idsName+" (globs allowed)")
	fl.StringSliceVar(&g.skip, "skip", nil, "skip these "+idsName+" (globs allowed)")
	_ = cmd.RegisterFlagCompletionFunc("fail-on", completeSeverities)
	_ = cmd.RegisterFlagCompletionFunc("only", completeCheckIDs)
	_ = cmd.RegisterFlagCompletionFunc("skip", completeCheckIDs)
}

// gate is what the flags resolve to for one run.
type gate struct {
	policy   *policy.Policy
	failOn   check.Severity
	checks   []*check.Check
	settings map[string]check.Settings
}

// resolve loads the policy for dir and selects the checks of scope. Naming
// a check with --only runs it even when the policy leaves it off.
func (g *gateFlags) resolve(dir string, scope check.Scope) (*gate, error) {
	p, err := loadPolicy(dir, g.policy)
	if err != nil {
		return nil, err
	}
	r := &gate{policy: p, failOn: p.FailOn, settings: p.Settings}
	if g.failOn != "" {
		if r.failOn, err = check.ParseSeverity(g.failOn); err != nil {
			return nil, usagef("--fail-on: %v", err)
		}
	}
	if r.checks, err = selectChecks(scope, g.only, g.skip); err != nil {
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
	return r, nil
}

// selectChecks applies --only and --skip to the checks of a scope.
func selectChecks(scope check.Scope, only, skip []string) ([]*check.Check, error) {
	all := checks.InScope(scope)
	match := func(globs []string, id string) bool {
		return slices.ContainsFunc(globs, func(g string) bool {
			ok, _ := filepath.Match(g, id)
			return ok
		})
	}
	for _, g := range append(slices.Clone(only), skip...) {
		if !slices.ContainsFunc(all, func(c *check.Check) bool { return match([]string{g}, c.ID) }) {
			return nil, usagef("no %s check matches %q (see `nixgate checks`)", scope, g)
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
