package pr

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"flag"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nixgate/nixgate/internal/check"
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

type summary struct {
	Rejected   bool
	Rejections []string
	Review     []string
	Files      []string
	Locks      int
}

func summarize(r *Report) summary {
	s := summary{Rejected: r.Rejected, Locks: len(r.Locks)}
	for _, x := range r.Rejections {
		w := ""
		if x.Warning {
			w = " (warning)"
		}
		s.Rejections = append(s.Rejections, x.Kind+" "+x.where()+w)
	}
	for _, v := range r.Review {
		s.Review = append(s.Review, v.Path)
	}
	for _, f := range r.Files {
		s.Files = append(s.Files, f.Status+" "+f.Path+" "+f.lines())
	}
	return s
}

func TestGate(t *testing.T) {
	elf := "\x7fELF\x02\x01\x01\x00" + strings.Repeat("\x00", 56)
	nixKey := "cache.example.org-1:" + base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)))
	tests := []struct {
		name   string
		change map[string]string
		labels []string
		want   summary
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
			want: summary{Rejected: true,
				Rejections: []string{"build-output-committed build/", "build-output-committed build/main.o", "build-output-committed result", "build-output-committed tools/helper"},
				Files:      []string{"A build/log.txt +1 -0", "A build/main.o (binary)", "A result +1 -0", "M src/main.c +1 -1", "A tools/helper (binary)"}},
			golden: "build-outputs",
		},
		{
			name: "secret",
			change: map[string]string{
				"app.env":                  "APP=1\nGITHUB_TOKEN=" + ghToken() + "\n",
				"deploy/s.yaml":            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cache\ndata:\n  key: " + base64.StdEncoding.EncodeToString([]byte(nixKey)) + "\n",
				".github/workflows/ci.yml": "on: [push, pull_request]\n",
			},
			want: summary{Rejected: true,
				Rejections: []string{"secret-file-not-ignored app.env", "secret-leak app.env:2", "k8s-secret-manifest deploy/s.yaml:2", "secret-leak deploy/s.yaml:6"},
				Review:     []string{".github/workflows/ci.yml"},
				Files:      []string{"M .github/workflows/ci.yml +1 -1", "A app.env +2 -0", "A deploy/s.yaml +6 -0"}},
			golden: "secret",
		},
		{
			name:   "lock-unlabelled",
			change: map[string]string{"flake.lock": readFile(t, "testdata/after.lock")},
			want: summary{Rejected: true, Locks: 1,
				Rejections: []string{"pr-lock-label flake.lock"},
				Review:     []string{"flake.lock"},
				Files:      []string{"M flake.lock +5 -5"}},
			golden: "lock",
		},
		{
			name:   "lock-labelled",
			change: map[string]string{"flake.lock": readFile(t, "testdata/after.lock")},
			labels: []string{"dependency-update"},
			want:   summary{Locks: 1, Review: []string{"flake.lock"}, Files: []string{"M flake.lock +5 -5"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newRepo(t)
			commit(t, dir, tt.change, tt.name)
			// A second commit removing nothing keeps history non-trivial.
			commit(t, dir, map[string]string{"NOTES.md": "notes\n"}, "notes")
			tt.want.Files = insertSorted(tt.want.Files, "A NOTES.md +1 -0")
			r, err := Run(context.Background(), dir, Options{Base: "main", Labels: tt.labels, Rules: rules(t)})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, summarize(r)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if tt.golden == "" {
				return
			}
			r.MergeBase = "0123456789abcdef"
			for i := range r.Rejections {
				if r.Rejections[i].Commit != "" {
					r.Rejections[i].Commit = "fedcba9876543210"
				}
			}
			for _, f := range []struct {
				ext   string
				write func(*bytes.Buffer) error
			}{
				{"txt", func(b *bytes.Buffer) error { return r.WriteText(b) }},
				{"md", func(b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
				{"json", func(b *bytes.Buffer) error { return r.WriteJSON(b) }},
			} {
				var b bytes.Buffer
				if err := f.write(&b); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("testdata", tt.golden+"."+f.ext), b.Bytes())
			}
			if strings.Contains(mustText(t, r), ghToken()) {
				t.Error("report shows the secret whole")
			}
			if r.Rejected {
				res := r.Result(func(string) *check.Check { return nil })
				if len(res.Findings) != len(r.Rejections) || len(res.Checks) == 0 && tt.name == "lock-unlabelled" {
					t.Errorf("Result: %d findings, %d checks", len(res.Findings), len(res.Checks))
				}
			}
		})
	}
}

func mustText(t *testing.T, r *Report) string {
	var b bytes.Buffer
	r.WriteText(&b)
	r.WriteMarkdown(&b)
	r.WriteJSON(&b)
	return b.String()
}

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
	got, err := EventLabels([]byte(`{"action":"labeled","pull_request":{"number":7,"labels":[{"name":"dependency-update"},{"name":"nix"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"dependency-update", "nix"}, got); d != "" {
		t.Error(d)
	}
	if _, err := EventLabels([]byte(`{`)); err == nil {
		t.Error("want an error for a bad payload")
	}
	var r Report
	if err := json.Unmarshal([]byte(`{"schemaVersion":1}`), &r); err != nil {
		t.Fatal(err)
	}
}
