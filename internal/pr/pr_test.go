package pr_test

import (
	"github.com/nixgate/nixgate/internal/fuzzlimit"

	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/policy"
	"github.com/nixgate/nixgate/internal/pr"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/report"
	"github.com/nixgate/nixgate/internal/secrets"
)

var update = flag.Bool("update", false, "rewrite golden files")

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Eve", "GIT_AUTHOR_EMAIL=eve@example.org",
		"GIT_COMMITTER_NAME=Eve", "GIT_COMMITTER_EMAIL=eve@example.org", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// files: content "" deletes; "->TARGET" makes a symlink.
func commit(t *testing.T, dir string, files map[string]string, msg string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.Remove(p)
		switch {
		case content == "":
		case strings.HasPrefix(content, "->"):
			if err := os.Symlink(content[2:], p); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	git(t, dir, "add", "-A")
	git(t, dir, "-c", "commit.gpgsign=false", "commit", "-q", "-m", msg)
}

func readFile(t *testing.T, name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ghToken returns a GitHub token with a valid checksum, built at test time.
func ghToken() string {
	body := "nixgateTestTokenForPRGateZ9x8"[:29] + "Q"
	c := crc32.ChecksumIEEE([]byte(body))
	const b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var sum [6]byte
	for i := 5; i >= 0; i-- {
		sum[i] = b62[c%62]
		c /= 62
	}
	return "ghp_" + body + string(sum[:])
}

// newRepo makes a repository with a main branch and returns it.
func newRepo(t *testing.T) string {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	commit(t, dir, map[string]string{
		"README.md":                "# app\n",
		"src/main.c":               "int main(void) { return 0; }\n",
		"flake.lock":               readFile(t, "testdata/before.lock"),
		".github/workflows/ci.yml": "on: push\n",
	}, "initial")
	git(t, dir, "checkout", "-q", "-b", "feature")
	return dir
}

func rules(t *testing.T) *secrets.Ruleset {
	rs, err := secrets.NewRuleset(secrets.DefaultRules(), secrets.DefaultAllowlists())
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// run gates the change from main to HEAD as `nixgate pr` does: every
// repository check and every pr check of the built-in policy, on the
// change's view, through the one runner.
func run(t *testing.T, dir string, labels []string) (*check.Result, *pr.Summary) {
	t.Helper()
	ctx := context.Background()
	r, err := repo.OpenChange(ctx, dir, "main", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	in := &pr.Input{Labels: labels, Sensitive: pr.DefaultSensitive, Rules: rules(t)}
	in.Locks = pr.LockDeltas(ctx, r)
	p := policy.Default(checks.All())
	cs := append(checks.InScope(check.ScopeRepo), checks.InScope(check.ScopePR)...)
	res := check.Run(ctx, cs, p.Settings, check.Target{Repo: r, Input: in}, nil)
	sum, err := pr.Summarize(ctx, r, in)
	if err != nil {
		t.Fatal(err)
	}
	return res, sum
}

func TestGate(t *testing.T) {
	// The lock checks' verdicts are in the golden reports: they run on the
	// day their fixtures use (internal/checks/lock_clock_test.go).
	defer checks.SetClock(func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) })()
	elf := "\x7fELF\x02\x01\x01\x00" + strings.Repeat("\x00", 56)
	nixKey := "cache.example.org-1:" + base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)))
	tests := []struct {
		name   string
		change map[string]string
		labels []string
		want   []string // "check path[:line]" of every finding at or above low
		review []string
		files  []string
		golden string
	}{
		{
			name: "build-outputs",
			change: map[string]string{
				"build/main.o":  elf,
				"build/log.txt": "ok\n",
				"result":        "->/nix/store/gdh8165b7rg4y53v64chjys7mbbw89f9-hello-2.10",
				"tools/helper":  elf,
				"src/main.c":    "int main(void) { return 1; }\n",
			},
			want:   []string{"build-output-committed build/", "build-output-committed build/main.o", "build-output-committed result", "build-output-committed tools/helper"},
			files:  []string{"A build/log.txt +1 -0", "A build/main.o (binary)", "A result +1 -0", "M src/main.c +1 -1", "A tools/helper (binary)"},
			golden: "build-outputs",
		},
		{
			name: "secret",
			change: map[string]string{
				"app.env":                  "APP=1\nGITHUB_TOKEN=" + ghToken() + "\n",
				"deploy/s.yaml":            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cache\ndata:\n  key: " + base64.StdEncoding.EncodeToString([]byte(nixKey)) + "\n",
				".github/workflows/ci.yml": "on: [push, pull_request]\n",
			},
			want: []string{"ci-workflow-hardening .github/workflows/ci.yml:1", "secret-file-not-ignored app.env", "secret-leak app.env:2",
				"k8s-secret-manifest deploy/s.yaml:2", "secret-leak deploy/s.yaml:6"},
			review: []string{".github/workflows/ci.yml"},
			files:  []string{"M .github/workflows/ci.yml +1 -1", "A app.env +2 -0", "A deploy/s.yaml +6 -0"},
			golden: "secret",
		},
		{
			name:   "lock-unlabelled",
			change: map[string]string{"flake.lock": readFile(t, "testdata/after.lock")},
			// The lock checks judge the new lock, as nixgate check would.
			want: []string{"pr-lock-label flake.lock", "lock-duplicate-input flake.lock:38", "lock-nixpkgs-branch flake.lock:98",
				"lock-nixpkgs-stale flake.lock:98", "lock-duplicate-input flake.lock:120"},
			review: []string{"flake.lock"},
			files:  []string{"M flake.lock +5 -5"},
			golden: "lock",
		},
		{
			name:   "lock-labelled",
			change: map[string]string{"flake.lock": readFile(t, "testdata/after.lock")},
			labels: []string{"dependency-update"},
			want: []string{"lock-duplicate-input flake.lock:38", "lock-nixpkgs-branch flake.lock:98",
				"lock-nixpkgs-stale flake.lock:98", "lock-duplicate-input flake.lock:120"},
			review: []string{"flake.lock"},
			files:  []string{"M flake.lock +5 -5"},
		},
		{
			name: "secret-added-then-removed",
			change: map[string]string{
				"notes.txt": "token " + ghToken() + "\n",
			},
			want:  []string{"secret-leak notes.txt:1"},
			files: []string{"A notes.txt +1 -0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newRepo(t)
			commit(t, dir, tt.change, tt.name)
			// A second commit keeps history non-trivial; for the last case it
			// removes the secret again, which stays in the merged history.
			second := map[string]string{"NOTES.md": "notes\n"}
			if tt.name == "secret-added-then-removed" {
				second["notes.txt"] = "nothing to see\n"
				tt.files = []string{"A NOTES.md +1 -0", "A notes.txt +1 -0"}
			} else {
				tt.files = insertSorted(tt.files, "A NOTES.md +1 -0")
			}
			commit(t, dir, second, "notes")
			res, sum := run(t, dir, tt.labels)
			for _, e := range res.Errors {
				t.Errorf("check %s errored: %s", e.CheckID, e.Error)
			}
			var got, review []string
			for _, f := range res.Findings {
				if f.CheckID == "pr-review-path" {
					review = append(review, f.Location.Path)
					continue
				}
				if f.Severity < check.Low {
					continue
				}
				s := f.CheckID + " " + f.Location.Path
				if f.Location.Line > 0 {
					s += ":" + strconv.Itoa(f.Location.Line)
				}
				got = append(got, s)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.review, review); d != "" {
				t.Errorf("review paths (-want +got):\n%s", d)
			}
			var files []string
			for _, f := range sum.Files {
				line := f.Status + " " + f.Path + " " + fmt.Sprintf("+%d -%d", f.Added, f.Removed)
				if f.Binary {
					line = f.Status + " " + f.Path + " (binary)"
				}
				files = append(files, line)
			}
			if d := cmp.Diff(tt.files, files); d != "" {
				t.Errorf("checklist (-want +got):\n%s", d)
			}
			if tt.golden == "" {
				return
			}
			sum.MergeBase = "0123456789abcdef"
			for i := range res.Findings {
				res.Findings[i].Message = commitRE.ReplaceAllString(res.Findings[i].Message, "in commit fedcba987654")
			}
			rep := &report.Report{Command: "pr", Target: "main..HEAD", ToolVersion: "test", FailOn: check.High, Result: res,
				Extra: sum, Before: sum.WriteHeader, After: sum.WriteSections}
			var all bytes.Buffer
			for _, format := range []string{"text", "markdown", "json"} {
				var b bytes.Buffer
				if err := report.Write(&b, format, rep); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("testdata", tt.golden+"."+map[string]string{"text": "txt", "markdown": "md", "json": "json"}[format]), b.Bytes())
				all.Write(b.Bytes())
			}
			if strings.Contains(all.String(), ghToken()) {
				t.Error("report shows the secret whole")
			}
		})
	}
}

var commitRE = regexp.MustCompile(`in commit [0-9a-f]{12}`)

func insertSorted(s []string, v string) []string {
	out := append([]string(nil), s...)
	i := 0
	for i < len(out) && strings.Fields(out[i])[1] < strings.Fields(v)[1] {
		i++
	}
	return append(out[:i], append([]string{v}, out[i:]...)...)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(name, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

func TestEventLabels(t *testing.T) {
	got, err := pr.EventLabels([]byte(`{"action":"labeled","pull_request":{"number":7,"labels":[{"name":"dependency-update"},{"name":"nix"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"dependency-update", "nix"}, got); d != "" {
		t.Error(d)
	}
	if _, err := pr.EventLabels([]byte(`{`)); err == nil {
		t.Error("want an error for a bad payload")
	}
}

// FuzzEventLabels: any event payload gives labels or an error, never a
// panic, at bounded cost.
func FuzzEventLabels(f *testing.F) {
	f.Add([]byte(`{"action":"labeled","pull_request":{"number":7,"labels":[{"name":"dependency-update"},{"name":"nix"}]}}`))
	f.Add([]byte(`{"pull_request":null}`))
	f.Add([]byte(`{"pull_request":{"labels":[null,{"name":1}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() { _, _ = pr.EventLabels(data) })
	})
}
