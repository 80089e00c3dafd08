package checks

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/secrets"
)

// SecretLeakOptions tunes secret-leak.
type SecretLeakOptions struct {
	GitleaksConfig string   `toml:"gitleaks-config" doc:"repository-relative gitleaks-format rule file (such as .gitleaks.toml); with [extend] useDefault = true it extends nixgate's rules, otherwise it replaces them"`
	DisableRules   []string `toml:"disable-rules" doc:"rule IDs to turn off (see docs/secrets.md for the list)"`
}

// RulesetInput is implemented by a run's Input that brings its own secret
// rules (a gitleaks-format file the user named with --config): they
// replace the rules the policy names.
type RulesetInput interface {
	SecretRuleset() *secrets.Ruleset
}

// UserRules is a run Input carrying the rules of --config.
type UserRules struct{ Rules *secrets.Ruleset }

// SecretRuleset implements RulesetInput.
func (u UserRules) SecretRuleset() *secrets.Ruleset { return u.Rules }

// SecretLeak enforces R4 on file contents.
var SecretLeak = &check.Check{
	ID:       "secret-leak",
	Title:    "A secret is committed",
	Severity: check.High,
	Rules:    []string{"R4"},
	Why: "A token, private key or Nix signing key in a repository is readable by everyone who can clone it, " +
		"for ever: removing it later does not remove it from history, forks or caches.",
	Remediation: "Revoke or rotate the secret first, then remove it (and rewrite history if the repository is private " +
		"and small). Load secrets at run time (sops-nix, agenix, a CI secret store) instead of committing them.",
	Scope:   check.ScopeRepo,
	Options: &SecretLeakOptions{},
	Run:     runSecretLeak,
}

// SecretRuleset builds the rule set the options name: nixgate's default
// rules, or a gitleaks-format file read from the repository.
func SecretRuleset(r *repo.Repo, opts *SecretLeakOptions) (*secrets.Ruleset, []string, error) {
	rules, lists := secrets.DefaultRules(), secrets.DefaultAllowlists()
	var warnings []string
	if opts.GitleaksConfig != "" {
		data, err := r.ReadFile(opts.GitleaksConfig)
		if err != nil {
			return nil, nil, fmt.Errorf("gitleaks-config: %w", err)
		}
		cfg, err := secrets.LoadGitleaks(opts.GitleaksConfig, data, r.ReadFile)
		if err != nil {
			return nil, nil, err
		}
		rules, lists, warnings = cfg.Rules, cfg.Allowlists, cfg.Warnings
	}
	rules = slices.DeleteFunc(rules, func(x *secrets.Rule) bool { return slices.Contains(opts.DisableRules, x.ID) })
	rs, err := secrets.NewRuleset(rules, lists)
	if rs != nil && opts.GitleaksConfig != "" {
		rs.GitleaksAllow = true
	}
	return rs, warnings, err
}

// scanFiles lists the files a secret check reads: every file nixgate
// sees (tracked, and untracked but not ignored), minus ignored paths and
// symlinks.
func scanFiles(p *check.Pass) []string {
	var out []string
	for _, name := range p.Repo.Files() {
		if p.Skip(name) || p.Repo.Mode(name) == "120000" {
			continue
		}
		out = append(out, name)
	}
	return out
}

func runSecretLeak(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*SecretLeakOptions)
	var rs *secrets.Ruleset
	if in, ok := p.Input.(RulesetInput); ok && in.SecretRuleset() != nil {
		rs = in.SecretRuleset()
	} else {
		var err error
		if rs, _, err = SecretRuleset(p.Repo, opts); err != nil {
			return err
		}
	}
	sink := func(f secrets.Finding) {
		if !p.Skip(f.Path) {
			p.ReportSeverity(f.Severity, SecretFinding(f))
		}
	}
	if c := p.Repo.Change; c != nil {
		// A change: the lines each of its commits added, also those a later
		// commit removed again (they stay in the history that is merged).
		err := rs.ScanHistory(ctx, p.Repo.Dir, secrets.Range{Since: c.MB, Until: c.HeadHash}, secrets.Sink{Finding: sink})
		if err != nil {
			return fmt.Errorf("scan the change's history: %w", err)
		}
		return ctx.Err()
	}
	names := make(chan string)
	go func() {
		defer close(names)
		for _, n := range scanFiles(p) {
			names <- n
		}
	}()
	var errs []string
	rs.ScanFiles(ctx, names, func(name string) (secrets.File, error) {
		fi, err := p.Repo.Lstat(name)
		if err != nil {
			return nil, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 || !fi.Mode().IsRegular() {
			return nil, fs.ErrNotExist
		}
		return p.Repo.Open(name)
	}, secrets.Sink{
		Finding: sink,
		Error: func(name string, err error) {
			if !os.IsNotExist(err) && !repo.IsRefused(err) {
				errs = append(errs, fmt.Sprintf("%s: %v", name, err))
			}
		},
	})
	if len(errs) > 0 {
		return fmt.Errorf("read: %s", strings.Join(errs, "; "))
	}
	return ctx.Err()
}

// SecretFinding turns a secret into a check finding that never shows the
// secret whole; its key is the secret's hash.
func SecretFinding(f secrets.Finding) check.Finding {
	msg := f.Description + ": " + f.Redacted() + " [" + f.RuleID
	if f.Note != "" {
		msg += "; " + f.Note
	}
	msg += "]"
	if f.Commit != "" {
		c := f.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		msg += " in commit " + c
		if f.Author != "" {
			msg += " by " + f.Author
		}
	}
	return check.Finding{CheckID: "secret-leak", Severity: f.Severity, Message: msg,
		Location: check.Location{Path: f.Path, Line: f.Line, Column: f.Column}, Key: f.Key()}
}
