// Package pr holds what `nixgate pr` adds to the repository checks: the
// change-level inputs (labels, the security-sensitive paths, the lock
// deltas) that the pr-scope checks in internal/checks judge, and the
// report sections that follow the findings (the lock deltas and the review
// checklist). The checks themselves run on the change's view of the
// repository (repo.OpenChange), through the one runner.
package pr

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/nixgate/nixgate/internal/lockdiff"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/report"
	"github.com/nixgate/nixgate/internal/secrets"
)

// DefaultSensitive are the path globs (repo.Match syntax) whose changes need
// security review.
var DefaultSensitive = []string{
	"flake.lock", "flake.nix",
	".github/workflows", ".github/actions", ".gitlab-ci.yml", ".ci", "ci/**/*.nix", "infra/**/*.nix", "deploy/**/*.nix", "nix/ci/**",
	"nix.conf", "*signing*", "*.pub", "trusted-keys*", "policies", "nixgate.toml", ".gitleaks.toml",
	"**/kernel/**", "defconfig", "*.kconfig", "kconfig*",
	"Cargo.lock", "go.sum", "go.mod", "CODEOWNERS",
}

// Input is the change-level input of a pr run (check.Target.Input).
type Input struct {
	// Labels are the change's labels (flags and the GitHub event payload).
	Labels []string
	// LockLabel is the label a flake.lock change needs.
	LockLabel string
	// Sensitive are the globs of security-sensitive paths.
	Sensitive []string
	// Locks are the deltas of the flake.lock files the change touches.
	Locks []lockdiff.FileDelta
	// Rules, when set, replace the policy's secret rules (--config).
	Rules *secrets.Ruleset
}

// SecretRuleset makes --config's rules the secret scan's.
func (in *Input) SecretRuleset() *secrets.Ruleset { return in.Rules }

// LockDeltas implements the lock delta input of lock-change-risk.
func (in *Input) LockDeltas() []lockdiff.FileDelta { return in.Locks }

// EventLabels reads the labels of the pull request in a GitHub Actions
// event payload ($GITHUB_EVENT_PATH).
func EventLabels(data []byte) ([]string, error) {
	var ev struct {
		PullRequest *struct {
			Labels []struct {
				Name string `json:"name"`
			} `json:"labels"`
		} `json:"pull_request"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("event payload: %w", err)
	}
	var out []string
	if ev.PullRequest != nil {
		for _, l := range ev.PullRequest.Labels {
			out = append(out, l.Name)
		}
	}
	return out, nil
}

// emptyLock is the lock an added flake.lock is compared with.
const emptyLock = `{"nodes":{"root":{}},"root":"root","version":7}`

// LockDeltas computes the delta of every flake.lock the change touches,
// from the merge base to the head.
func LockDeltas(ctx context.Context, r *repo.Repo) []lockdiff.FileDelta {
	var out []lockdiff.FileDelta
	for _, e := range r.Change.Entries() {
		if path.Base(e.Path) != "flake.lock" {
			continue
		}
		out = append(out, lockDelta(r, e))
	}
	return out
}

func lockDelta(r *repo.Repo, e repo.ChangeEntry) lockdiff.FileDelta {
	l := lockdiff.FileDelta{Path: e.Path}
	unavailable := func(err error) lockdiff.FileDelta {
		l.Unavailable = "flake.lock changed (delta unavailable: " + err.Error() + ")"
		return l
	}
	limit := r.Limits.For(e.Path)
	old, cur := []byte(emptyLock), []byte(emptyLock)
	var err error
	if e.Status != "A" {
		if old, err = r.ReadBlob(e.OldBlob, limit); err != nil {
			return unavailable(err)
		}
	}
	if e.Status != "D" {
		if cur, err = r.ReadBlob(e.NewBlob, limit); err != nil {
			return unavailable(err)
		}
	}
	d, err := lockdiff.Diff(old, cur)
	if err != nil {
		return unavailable(err)
	}
	l.Delta = d
	return l
}

// File is one entry of the review checklist.
type File struct {
	Path    string `json:"path"`
	Status  string `json:"status"` // A, M, D, T
	Added   int    `json:"added"`
	Removed int    `json:"removed"`
	Binary  bool   `json:"binary,omitempty"`
}

func (f File) lines() string {
	if f.Binary {
		return "(binary)"
	}
	return fmt.Sprintf("+%d -%d", f.Added, f.Removed)
}

// Summary is what the pr report shows besides the findings; it is the
// JSON report's "extra".
type Summary struct {
	Base      string               `json:"base"`
	Head      string               `json:"head"`
	MergeBase string               `json:"mergeBase"`
	Commits   int                  `json:"commits"`
	Labels    []string             `json:"labels"`
	Locks     []lockdiff.FileDelta `json:"locks"`
	Files     []File               `json:"files"`
}

// Summarize describes the change of r for the report, with the lines
// each file gains and loses.
func Summarize(ctx context.Context, r *repo.Repo, in *Input) (*Summary, error) {
	c := r.Change
	var wg sync.WaitGroup
	var cerr error
	wg.Go(func() { cerr = c.CountCommits(ctx, r.Dir) })
	err := c.CountLines(ctx, r.Dir)
	wg.Wait()
	if err = cmp.Or(err, cerr); err != nil {
		return nil, err
	}
	s := &Summary{Base: c.Base, Head: c.Head, MergeBase: c.MB, Commits: c.Commits,
		Labels: slices.Compact(slices.Sorted(slices.Values(in.Labels))), Locks: in.Locks, Files: []File{}}
	if s.Labels == nil {
		s.Labels = []string{}
	}
	if s.Locks == nil {
		s.Locks = []lockdiff.FileDelta{}
	}
	for _, e := range c.Entries() {
		s.Files = append(s.Files, File{Path: e.Path, Status: e.Status, Added: e.Added, Removed: e.Removed, Binary: e.Binary})
	}
	return s, nil
}

// WriteHeader writes the line that opens a text pr report (Markdown has
// it after the title, in WriteSections).
func (s *Summary) WriteHeader(w io.Writer, format string) error {
	b := bufio.NewWriter(w)
	switch format {
	case "text":
		fmt.Fprintf(b, "nixgate pr: %s..%s (merge base %.12s, %d commit(s), %d file(s))\n",
			report.SafeText(s.Base), report.SafeText(s.Head), s.MergeBase, s.Commits, len(s.Files))
		if len(s.Labels) > 0 {
			fmt.Fprintf(b, "labels: %s\n", report.SafeText(strings.Join(s.Labels, ", ")))
		}
		fmt.Fprintln(b)
	}
	return b.Flush()
}

// WriteSections writes the lock deltas and the review checklist after the
// findings of a text or Markdown pr report.
func (s *Summary) WriteSections(w io.Writer, format string) error {
	b := bufio.NewWriter(w)
	switch format {
	case "text":
		for _, l := range s.Locks {
			fmt.Fprintf(b, "\nLock delta (%s):\n", report.SafeText(l.Path))
			if l.Delta == nil {
				fmt.Fprintf(b, "  %s\n", report.SafeText(l.Unavailable))
				continue
			}
			var buf strings.Builder
			if err := l.Delta.WriteText(&buf); err != nil {
				return err
			}
			for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
				fmt.Fprintf(b, "  %s\n", line)
			}
		}
		fmt.Fprintf(b, "\nReview checklist (%d file(s)):\n", len(s.Files))
		for _, f := range s.Files {
			fmt.Fprintf(b, "  [ ] %s %s %s\n", f.Status, report.SafeText(f.Path), f.lines())
		}
	case "markdown":
		fmt.Fprintf(b, "Change `%s..%s` · merge base `%.12s` · %d commit(s) · %d file(s)", report.MarkdownCode(s.Base),
			report.MarkdownCode(s.Head), s.MergeBase, s.Commits, len(s.Files))
		if len(s.Labels) > 0 {
			fmt.Fprintf(b, " · labels: `%s`", report.MarkdownCode(strings.Join(s.Labels, ", ")))
		}
		fmt.Fprintln(b)
		for _, l := range s.Locks {
			fmt.Fprintln(b)
			if l.Delta == nil {
				fmt.Fprintf(b, "### `%s`\n\n%s\n", report.MarkdownCode(l.Path), report.MarkdownCell(l.Unavailable))
				continue
			}
			var buf strings.Builder
			if err := l.Delta.WriteMarkdown(&buf); err != nil {
				return err
			}
			// One level below this report's sections.
			md := strings.ReplaceAll(buf.String(), "\n## ", "\n### ")
			md = strings.TrimPrefix(md, "## ")
			fmt.Fprintf(b, "### %s", strings.Replace(md, "flake.lock delta", "`"+report.MarkdownCode(l.Path)+"` delta", 1))
		}
		fmt.Fprintf(b, "\n<details><summary>Review checklist (%d file(s))</summary>\n\n", len(s.Files))
		for _, f := range s.Files {
			fmt.Fprintf(b, "- [ ] %s `%s` %s\n", f.Status, report.MarkdownCode(f.Path), f.lines())
		}
		fmt.Fprint(b, "\n</details>\n")
	}
	return b.Flush()
}
