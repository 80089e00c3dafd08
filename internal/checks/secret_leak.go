package checks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/secrets"
)

// SecretLeakOptions tunes secret-leak.
type SecretLeakOptions struct {
	GitleaksConfig string   `toml:"gitleaks-config" doc:"repository-relative gitleaks-format rule file (such as .gitleaks.toml); with [extend] useDefault = true it extends nixgate's rules, otherwise it replaces them"`
	DisableRules   []string `toml:"disable-rules" doc:"rule IDs to turn off (see docs/secrets.md for the list)"`
	MaxDecodeDepth int      `toml:"max-decode-depth" doc:"how many layers of encoding (base64, hex, percent-encoding) are decoded and scanned inside any file; 0 turns decoding off"`
	TestPaths      []string `toml:"test-paths" doc:"paths of test data (globs; a bare name matches a directory anywhere): findings there are reported at most at test-path-severity"`
	// TestPathSeverity caps findings under test-paths. Test suites commit
	// keys on purpose; a policy that wants them judged like any other file
	// sets "critical".
	TestPathSeverity string `toml:"test-path-severity" doc:"the highest severity of a finding under test-paths (info, low, medium, high, critical; critical keeps every rule's own severity)"`
}

// DefaultTestPaths are the directories test suites keep fixtures in, the
// names of test source files, and files named as fakes or mocks.
var DefaultTestPaths = []string{"test", "tests", "testdata", "test-data", "test_data", "test-assets", "test_assets", "testing", "testsetup",
	"testkit", "testutil", "testutils", "fixtures", "fixture", "__fixtures__", "__tests__", "*_test.go", "*_test.py", "test_*.py",
	"*.test.js", "*.test.ts", "*.spec.js", "*.spec.ts", "*_spec.rb", "*fake*", "*mock*"}

// RulesetInput is implemented by a run's Input that brings its own secret
// rules (a gitleaks-format file the user named with --config): they
// replace the rules the policy names.
type RulesetInput interface {
	SecretRuleset() *secrets.Ruleset
}

// HistoryInput is implemented by a run's Input that asks secret-leak to
// scan a range of history (the whole history of a revision when Since is
// empty) instead of the tree.
type HistoryInput interface {
	SecretHistory() *secrets.Range
}

// SecretScan is the Input of `nixgate secrets scan`: the rules of
// --config, and the history range of --since or --history.
type SecretScan struct {
	Rules   *secrets.Ruleset
	History *secrets.Range
	// Manifests, with History, carries the Kubernetes manifests the
	// history scan of secret-leak reads over to k8s-secret-manifest, so
	// that one read of the history serves both. Set it only when
	// secret-leak runs: k8s-secret-manifest waits for it.
	Manifests *HistoryManifests
}

// HistoryManifests is the hand-over of a history scan's Kubernetes
// manifests from secret-leak to k8s-secret-manifest.
type HistoryManifests struct {
	once sync.Once
	done chan struct{}
	ms   []secrets.Manifest
	err  error
}

// NewHistoryManifests returns an empty hand-over.
func NewHistoryManifests() *HistoryManifests {
	return &HistoryManifests{done: make(chan struct{})}
}

// set records the scan's manifests, or why there are none; only the first
// call counts, and a nil hand-over (a run that has none) takes nothing.
func (h *HistoryManifests) set(ms []secrets.Manifest, err error) {
	if h == nil {
		return
	}
	h.once.Do(func() {
		h.ms, h.err = ms, err
		close(h.done)
	})
}

// wait returns the manifests once the scan has ended.
func (h *HistoryManifests) wait(ctx context.Context) ([]secrets.Manifest, error) {
	select {
	case <-h.done:
		return h.ms, h.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// SecretRuleset implements RulesetInput.
func (s SecretScan) SecretRuleset() *secrets.Ruleset { return s.Rules }

// SecretHistory implements HistoryInput.
func (s SecretScan) SecretHistory() *secrets.Range { return s.History }

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
	Scope: check.ScopeRepo,
	Options: &SecretLeakOptions{MaxDecodeDepth: secrets.DefaultDecodeDepth, TestPaths: DefaultTestPaths,
		TestPathSeverity: "low"},
	Run: runSecretLeak,
	// The default rule set (its keyword automaton; each rule's regexp
	// compiles when its keyword first occurs) is built while the
	// repository is opened, unless the run brings its own rules.
	Prepare: func(o, input any) {
		if in, ok := input.(RulesetInput); ok && in.SecretRuleset() != nil {
			return
		}
		if opts, ok := o.(*SecretLeakOptions); ok && usesDefaultRules(opts) {
			secrets.Default()
		}
	},
}

// usesDefaultRules reports whether the options leave nixgate's default
// rules as they are, so that the compiled set is shared.
func usesDefaultRules(opts *SecretLeakOptions) bool {
	return opts.GitleaksConfig == "" && len(opts.DisableRules) == 0
}

// SecretRuleset builds the rule set the options name: nixgate's default
// rules, or a gitleaks-format file read from the repository.
func SecretRuleset(r *repo.Repo, opts *SecretLeakOptions) (*secrets.Ruleset, []string, error) {
	if usesDefaultRules(opts) {
		rs, err := secrets.Default()
		if err != nil {
			return nil, nil, err
		}
		return rs.WithDecodeDepth(max(0, opts.MaxDecodeDepth)), nil, nil
	}
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
	if err != nil {
		return nil, nil, err
	}
	if opts.GitleaksConfig != "" {
		rs.GitleaksAllow = true
	}
	rs.MaxDecodeDepth = max(0, opts.MaxDecodeDepth)
	return rs, warnings, nil
}

// scanFiles lists the files a secret check reads: every file nixgate
// sees (tracked, and untracked but not ignored), minus ignored paths,
// symlinks and submodules (a gitlink is a commit, not content).
func scanFiles(p *check.Pass) []string {
	var out []string
	for _, name := range p.Repo.Files() {
		if scannable(p, name) {
			out = append(out, name)
		}
	}
	return out
}

// scannable says whether a file of the scope is read: not ignored, not a
// symlink or a submodule.
func scannable(p *check.Pass, name string) bool {
	if p.Skip(name) {
		return false
	}
	switch p.Repo.Mode(name) {
	case "120000", "160000":
		return false
	}
	return true
}

func runSecretLeak(ctx context.Context, p *check.Pass) (err error) {
	opts := p.Options.(*SecretLeakOptions)
	var rg *secrets.Range
	var handOver *HistoryManifests
	if in, ok := p.Input.(HistoryInput); ok && in.SecretHistory() != nil {
		rg = in.SecretHistory()
		if s, ok := p.Input.(SecretScan); ok && s.Manifests != nil {
			handOver = s.Manifests
			// k8s-secret-manifest waits for the hand-over however this
			// ends (a panic included); a successful scan set it already.
			defer func() {
				why := err
				if why == nil {
					why = errors.New("secret-leak stopped before the end of its history scan")
				}
				handOver.set(nil, why)
			}()
		}
	} else if c := p.Repo.Change; c != nil {
		// A change: the lines each of its commits (BASE..HEAD) added, also
		// those a later commit removed again (they stay in the history that
		// is merged).
		rg = &secrets.Range{Since: c.BaseHash, Until: c.HeadHash}
	}
	if rg != nil && p.Repo.Change != nil {
		var stop context.CancelFunc
		ctx, stop = untilNoMergeBase(ctx, p.Repo.Change)
		defer stop()
	}
	var hist *secrets.History
	if rg != nil {
		// git starts reading the history while the rules get ready.
		var err error
		if hist, err = secrets.OpenHistory(ctx, p.Repo.Dir, *rg); err != nil {
			return fmt.Errorf("scan history: %w", err)
		}
		defer hist.Close()
	}
	var rs *secrets.Ruleset
	if in, ok := p.Input.(RulesetInput); ok && in.SecretRuleset() != nil {
		rs = in.SecretRuleset()
	} else {
		var err error
		if rs, _, err = SecretRuleset(p.Repo, opts); err != nil {
			return err
		}
	}
	testCap := check.Critical
	if opts.TestPathSeverity != "" {
		s, err := check.ParseSeverity(opts.TestPathSeverity)
		if err != nil {
			return fmt.Errorf("test-path-severity: %w", err)
		}
		testCap = s
	}
	sink := func(f secrets.Finding) {
		if p.Skip(f.Path) {
			return
		}
		sev := f.Severity
		if sev > testCap && inTestPath(f.Path, opts.TestPaths) {
			sev = testCap
			f.Note = strings.TrimPrefix(f.Note+"; under a test path", "; ")
		}
		p.ReportSeverity(sev, SecretFinding(f))
	}
	if hist != nil {
		var ms []secrets.Manifest
		hs := secrets.Sink{Finding: sink}
		if handOver != nil {
			// Scan serialises sink calls.
			hs.Manifest = func(m secrets.Manifest) { ms = append(ms, m) }
		}
		if err := hist.Scan(rs, hs); err != nil {
			return fmt.Errorf("scan history: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		handOver.set(ms, nil)
		return nil
	}
	names := make(chan string)
	go func() {
		defer close(names)
		// A directory walked in the background hands its files over as it
		// finds them: the scan starts with the first directory.
		for n := range p.Repo.FilesAsFound() {
			if !scannable(p, n) {
				continue
			}
			select {
			case names <- n:
			case <-ctx.Done():
				return
			}
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

// untilNoMergeBase returns a context that ends when the change's ends turn
// out to share no history. A range needs only the ends, so its scan starts
// while the merge base is still being found; a change without one stops
// it (its command then fails on MergeBase).
func untilNoMergeBase(ctx context.Context, c *repo.Change) (context.Context, context.CancelFunc) {
	hctx, stop := context.WithCancel(ctx)
	go func() {
		select {
		case <-c.MergeBaseReady():
			if _, err := c.MergeBase(); err != nil {
				stop()
			}
		case <-hctx.Done():
		}
	}()
	return hctx, stop
}

// inTestPath reports whether a path lies under one of the test paths.
func inTestPath(name string, globs []string) bool {
	for _, g := range globs {
		if repo.Match(g, name) {
			return true
		}
	}
	return false
}

// SecretFinding turns a secret into a check finding that never shows the
// secret whole; its key is location-derived (secrets.Finding.Key), so it
// cannot confirm a guess at the secret.
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
		Location: check.Location{Path: f.Path, Line: f.Line, Column: f.Column}, Key: f.Key(), Found: f.Found}
}
