// Package pr is the gate a maintainer runs on a contribution before
// merging it: it rejects build outputs and secrets the change adds and
// lock changes without the dependency-update label, includes the lock
// delta, lists the security-sensitive paths it touches, and ends with the
// review checklist of every changed file.
package pr

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/nixgate/nixgate/internal/artifact"
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/lockdiff"
	"github.com/nixgate/nixgate/internal/repo"
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

// Options configure a gate run.
type Options struct {
	Base, Head string // Head defaults to HEAD
	// Labels are the change's labels (flags and the GitHub event payload).
	Labels []string
	// Sensitive are the globs of security-sensitive paths.
	Sensitive []string
	// LockLabel is the label a flake.lock change needs.
	LockLabel string
	// BuildDirs are directory names whose added content is build output.
	BuildDirs []string
	// Rules find secrets in added lines.
	Rules *secrets.Ruleset
}

// Kinds of rejection, named after the check whose rule they apply.
const (
	KindBuildOutput = "build-output-committed"
	KindSecret      = "secret-leak"
	KindK8sSecret   = "k8s-secret-manifest"
	KindSecretFile  = "secret-file-not-ignored"
	KindLockLabel   = "pr-lock-label"
)

// Rejection is a reason not to merge (or, with Warning, a note).
type Rejection struct {
	Kind     string         `json:"kind"`
	Severity check.Severity `json:"severity"`
	Path     string         `json:"path,omitempty"`
	Line     int            `json:"line,omitempty"`
	Message  string         `json:"message"`
	Commit   string         `json:"commit,omitempty"`
	Author   string         `json:"author,omitempty"`
	// Warning findings are shown but do not reject the change.
	Warning bool   `json:"warning,omitempty"`
	Key     string `json:"-"`
}

// Review is a changed path that needs security review.
type Review struct {
	Path    string `json:"path"`
	Pattern string `json:"pattern"`
}

// Lock is the delta of one changed flake.lock.
type Lock struct {
	Path  string           `json:"path"`
	Delta *lockdiff.Report `json:"delta,omitempty"`
	// Unavailable says why there is no delta.
	Unavailable string `json:"unavailable,omitempty"`
}

// File is one entry of the review checklist.
type File struct {
	Path    string `json:"path"`
	Status  string `json:"status"` // A, M, D, T
	Added   int    `json:"added"`
	Removed int    `json:"removed"`
	Binary  bool   `json:"binary,omitempty"`
}

// Report is the gate's verdict on a change.
type Report struct {
	SchemaVersion int         `json:"schemaVersion"`
	Base          string      `json:"base"`
	Head          string      `json:"head"`
	MergeBase     string      `json:"mergeBase"`
	Commits       int         `json:"commits"`
	Labels        []string    `json:"labels"`
	Rejected      bool        `json:"rejected"`
	Rejections    []Rejection `json:"rejections"`
	Locks         []Lock      `json:"locks"`
	Review        []Review    `json:"review"`
	Files         []File      `json:"files"`
}

// EventLabels reads the labels of the pull request in a GitHub Actions
// event payload ($GITHUB_EVENT_PATH).
func EventLabels(data []byte) ([]string, error) {
	var ev struct {
		PullRequest *struct {
			Labels []struct {
				Name string `json:"name"`
			} `json:"labels"`
		} `json:"pull_request"`
		Label *struct {
			Name string `json:"name"`
		} `json:"label"`
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

// Run evaluates the change from the merge base of Base and Head to Head
// in the git repository dir.
func Run(ctx context.Context, dir string, o Options) (*Report, error) {
	if o.Head == "" {
		o.Head = "HEAD"
	}
	if o.LockLabel == "" {
		o.LockLabel = lockdiff.Label
	}
	if o.BuildDirs == nil {
		o.BuildDirs = artifact.DefaultBuildDirs
	}
	if o.Sensitive == nil {
		o.Sensitive = DefaultSensitive
	}
	g := func(args ...string) (string, error) {
		out, err := repo.Git(ctx, dir, args...)
		return strings.TrimSpace(string(out)), err
	}
	base, err := g("rev-parse", "--verify", "--end-of-options", o.Base+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", o.Base, err)
	}
	head, err := g("rev-parse", "--verify", "--end-of-options", o.Head+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("head %s: %w", o.Head, err)
	}
	mb, err := g("merge-base", base, head)
	if err != nil || mb == "" {
		mb = base
	}
	r := &Report{SchemaVersion: 1, Base: o.Base, Head: o.Head, MergeBase: mb, Labels: slices.Compact(slices.Sorted(slices.Values(o.Labels)))}
	if n, err := g("rev-list", "--count", mb+".."+head); err == nil {
		r.Commits, _ = strconv.Atoi(n)
	}
	if r.Labels == nil {
		r.Labels = []string{}
	}

	// The changed files, with their blobs and line counts.
	raw, err := repo.Git(ctx, dir, "diff", "--raw", "-z", "--no-renames", "--no-abbrev", mb, head)
	if err != nil {
		return nil, err
	}
	type entry struct {
		newMode, newBlob, status, path string
	}
	var entries []entry
	fields := strings.Split(string(raw), "\x00")
	for i := 0; i+1 < len(fields); i += 2 {
		meta := strings.Fields(strings.TrimPrefix(fields[i], ":"))
		if len(meta) < 5 {
			break
		}
		entries = append(entries, entry{newMode: meta[1], newBlob: meta[3], status: meta[4][:1], path: fields[i+1]})
	}
	num, err := repo.Git(ctx, dir, "diff", "--numstat", "-z", "--no-renames", mb, head)
	if err != nil {
		return nil, err
	}
	counts := map[string]File{}
	for _, rec := range strings.Split(string(num), "\x00") {
		parts := strings.SplitN(rec, "\t", 3)
		if len(parts) != 3 {
			continue
		}
		f := File{Path: parts[2]}
		if parts[0] == "-" {
			f.Binary = true
		} else {
			f.Added, _ = strconv.Atoi(parts[0])
			f.Removed, _ = strconv.Atoi(parts[1])
		}
		counts[f.Path] = f
	}
	headFiles := map[string]bool{}
	if ls, err := repo.Git(ctx, dir, "ls-tree", "-r", "-z", "--name-only", head); err == nil {
		for _, n := range strings.Split(string(ls), "\x00") {
			headFiles[n] = true
		}
	}

	buildDirs := map[string]int{}
	for _, e := range entries {
		f := counts[e.path]
		f.Path, f.Status = e.path, e.status
		r.Files = append(r.Files, f)
		for _, glob := range o.Sensitive {
			if repo.Match(glob, e.path) {
				r.Review = append(r.Review, Review{Path: e.path, Pattern: glob})
				break
			}
		}
		if e.status == "D" {
			continue
		}
		// Build outputs.
		if e.status == "A" {
			if d := artifact.BuildDir(e.path, o.BuildDirs); d != "" {
				buildDirs[d]++
			}
		}
		base := path.Base(e.path)
		if e.newMode == "120000" {
			target, err := g("cat-file", "blob", e.newBlob)
			if err == nil && (artifact.StorePathTarget(target) || artifact.IsResultName(base)) {
				r.reject(Rejection{Kind: KindBuildOutput, Severity: check.High, Path: e.path, Key: "link:" + target,
					Message: fmt.Sprintf("adds a build result link %s -> %s", e.path, target)})
			}
		} else if e.newMode != "160000" {
			kind, err := sniffBlob(ctx, dir, e.newBlob)
			if err != nil {
				return nil, err
			}
			if kind != "" {
				r.reject(Rejection{Kind: KindBuildOutput, Severity: check.High, Path: e.path, Key: "bin:" + e.newBlob,
					Message: fmt.Sprintf("adds a compiled binary %s (%s)", e.path, kind)})
			}
		}
		// Secret-bearing files.
		if e.status == "A" {
			if kind, pattern, ok := secrets.SecretFile(e.path); ok {
				r.reject(Rejection{Kind: KindSecretFile, Severity: check.High, Path: e.path, Key: "file:" + e.path,
					Message: fmt.Sprintf("adds %s (%s); it belongs in .gitignore as `%s`", e.path, kind, pattern)})
			} else if sealed, pattern, ok := secrets.UnsealedTwin(e.path, func(n string) bool { return headFiles[n] }); ok {
				r.reject(Rejection{Kind: KindSecretFile, Severity: check.High, Path: e.path, Key: "file:" + e.path,
					Message: fmt.Sprintf("adds %s, the plaintext source of %s; it belongs in .gitignore as `%s`", e.path, sealed, pattern)})
			}
		}
		// Lock files.
		if base == "flake.lock" {
			r.Locks = append(r.Locks, lockDelta(ctx, dir, mb, head, e.path, e.status))
		}
	}
	for _, d := range slices.Sorted(mapsKeys(buildDirs)) {
		r.reject(Rejection{Kind: KindBuildOutput, Severity: check.High, Path: d + "/", Key: "dir:" + d,
			Message: fmt.Sprintf("adds build output directory %s/ (%d file(s))", d, buildDirs[d])})
	}
	if len(r.Locks) > 0 && !slices.Contains(r.Labels, o.LockLabel) {
		r.reject(Rejection{Kind: KindLockLabel, Severity: check.High, Path: r.Locks[0].Path, Key: "label:" + o.LockLabel,
			Message: fmt.Sprintf("changes %s without the `%s` label: a lock change is a supply-chain change and needs its review", r.Locks[0].Path, o.LockLabel)})
	}

	// Secrets in the lines each commit added.
	if o.Rules != nil {
		var manifests []secrets.Manifest
		err := o.Rules.ScanHistory(ctx, dir, secrets.Range{Since: mb, Until: head}, secrets.Sink{
			Finding: func(f secrets.Finding) {
				r.reject(Rejection{Kind: KindSecret, Severity: f.Severity, Path: f.Path, Line: f.Line, Commit: f.Commit, Author: f.Author,
					Message: f.Description + ": " + f.Redacted() + noteOf(f), Key: f.Key(), Warning: f.Severity < check.Medium})
			},
			Manifest: func(m secrets.Manifest) { manifests = append(manifests, m) },
		})
		if err != nil {
			return nil, err
		}
		for _, x := range secrets.Exposures(manifests) {
			m := x.Manifest
			r.reject(Rejection{Kind: KindK8sSecret, Severity: x.Severity(), Path: m.Path, Line: m.Line, Key: "secret:" + m.Namespace + "/" + m.Name,
				Message: fmt.Sprintf("adds a plain Kubernetes Secret %s with literal values (%s)", m.Name, strings.Join(m.Keys, ", "))})
		}
	}
	slices.SortStableFunc(r.Rejections, func(a, b Rejection) int {
		if a.Warning != b.Warning {
			if a.Warning {
				return 1
			}
			return -1
		}
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	slices.SortFunc(r.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	if r.Rejections == nil {
		r.Rejections = []Rejection{}
	}
	if r.Locks == nil {
		r.Locks = []Lock{}
	}
	if r.Review == nil {
		r.Review = []Review{}
	}
	if r.Files == nil {
		r.Files = []File{}
	}
	return r, nil
}

func noteOf(f secrets.Finding) string {
	if f.Note == "" {
		return " [" + f.RuleID + "]"
	}
	return " [" + f.RuleID + "; " + f.Note + "]"
}

func (r *Report) reject(x Rejection) {
	r.Rejections = append(r.Rejections, x)
	if !x.Warning {
		r.Rejected = true
	}
}

func mapsKeys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// emptyLock is the lock an added flake.lock is compared with.
const emptyLock = `{"nodes":{"root":{}},"root":"root","version":7}`

// lockDelta computes the delta of one flake.lock between two commits.
//
// This is the single place where the lock delta plugs into the PR gate.
func lockDelta(ctx context.Context, dir, from, to, name, status string) Lock {
	l := Lock{Path: name}
	old := []byte(emptyLock)
	if status != "A" {
		b, err := repo.Git(ctx, dir, "cat-file", "blob", from+":"+name)
		if err != nil {
			l.Unavailable = "flake.lock changed (delta unavailable: " + err.Error() + ")"
			return l
		}
		old = b
	}
	cur, err := repo.Git(ctx, dir, "cat-file", "blob", to+":"+name)
	if err != nil {
		l.Unavailable = "flake.lock changed (delta unavailable: " + err.Error() + ")"
		return l
	}
	d, err := lockdiff.Diff(old, cur)
	if err != nil {
		l.Unavailable = "flake.lock changed (delta unavailable: " + err.Error() + ")"
		return l
	}
	l.Delta = d
	return l
}

// sniffBlob classifies a blob by its first bytes (and, for zip-based
// formats, its whole content when it is smaller than 64 MiB).
func sniffBlob(ctx context.Context, dir, blob string) (artifact.Kind, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "-c", "core.fsmonitor=false", "-c", "safe.directory="+dir, "--no-pager", "cat-file", "blob", blob)
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	head := make([]byte, artifact.HeadSize)
	n, _ := io.ReadFull(out, head)
	head = head[:n]
	var kind artifact.Kind
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		rest, _ := io.ReadAll(io.LimitReader(out, 64<<20))
		all := append(head, rest...)
		kind = artifact.Sniff(head, bytes.NewReader(all), int64(len(all)))
	} else {
		kind = artifact.Sniff(head, nil, int64(n))
	}
	cmd.Process.Kill()
	cmd.Wait()
	return kind, nil
}

// Result turns the rejections into check findings (for SARIF).
func (r *Report) Result(checksByID func(string) *check.Check) *check.Result {
	res := &check.Result{}
	seen := map[string]bool{}
	for _, x := range r.Rejections {
		f := check.Finding{CheckID: x.Kind, Severity: x.Severity, Message: x.Message,
			Location: check.Location{Path: x.Path, Line: x.Line}, Key: x.Key}
		if x.Commit != "" {
			f.Message += fmt.Sprintf(" (commit %.12s by %s)", x.Commit, x.Author)
		}
		f.Fingerprint = check.Fingerprint(f.CheckID, f.Location.Path, f.Key)
		res.Findings = append(res.Findings, f)
		if !seen[x.Kind] {
			seen[x.Kind] = true
			if c := checksByID(x.Kind); c != nil {
				res.Checks = append(res.Checks, c)
			} else if x.Kind == KindLockLabel {
				res.Checks = append(res.Checks, LockLabelCheck)
			}
		}
	}
	slices.SortFunc(res.Checks, func(a, b *check.Check) int { return strings.Compare(a.ID, b.ID) })
	check.SortFindings(res.Findings)
	return res
}

// LockLabelCheck describes the lock-label rejection for SARIF rule
// metadata; it runs only inside `nixgate pr`.
var LockLabelCheck = &check.Check{
	ID:       KindLockLabel,
	Title:    "flake.lock changed without the dependency-update label",
	Severity: check.High,
	Rules:    []string{"R2", "R6"},
	Why:      "A lock change moves every pinned dependency it touches: it is a supply-chain change and gets its own review.",
	Remediation: "Review the lock delta in the report, then add the `dependency-update` label (or split the lock " +
		"update into its own pull request).",
	Scope: check.Scope("pr"),
}
