package secrets

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Mallory", "GIT_AUTHOR_EMAIL=mallory@example.org",
		"GIT_COMMITTER_NAME=Mallory", "GIT_COMMITTER_EMAIL=mallory@example.org", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func commit(t *testing.T, dir string, files map[string]string, msg string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if content == "" {
			os.Remove(p)
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dir, "add", "-A")
	git(t, dir, "-c", "commit.gpgsign=false", "commit", "-q", "-m", msg)
	return git(t, dir, "rev-parse", "HEAD")
}

func TestScanHistory(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	g := newGen(42)
	tok := g.render(t, "{gh:ghp}")
	nixKey := g.render(t, "{nixkey:cache.example.org-1}")
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	base := commit(t, dir, map[string]string{"README.md": "hello\n", "app.env": "A=1\nB=2\n"}, "base")
	c1 := commit(t, dir, map[string]string{"app.env": "A=1\nTOKEN=" + tok + "\nB=2\n"}, "add token")
	c2 := commit(t, dir, map[string]string{"app.env": "A=1\nB=2\n", "deploy/s.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cache\ndata:\n  key: " +
		base64.StdEncoding.EncodeToString([]byte(nixKey)) + "\n"}, "remove token, add a Secret")
	commit(t, dir, map[string]string{"notes.txt": "nothing\n", "bin.dat": "\x00\x01" + tok}, "binary")

	rs := defaultRuleset(t)
	var got []string
	var ms []string
	err := rs.ScanHistory(context.Background(), dir, Range{Since: base}, Sink{
		Finding: func(f Finding) {
			got = append(got, fmt.Sprintf("%s:%d %s %s %s", f.Path, f.Line, f.RuleID, f.Commit[:7], f.Author))
		},
		Manifest: func(m Manifest) { ms = append(ms, fmt.Sprintf("%s:%d %s %s", m.Path, m.Line, m.Kind, m.Name)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"app.env:2 github-pat " + c1[:7] + " Mallory <mallory@example.org>",
		"deploy/s.yaml:6 nix-signing-key " + c2[:7] + " Mallory <mallory@example.org>",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"deploy/s.yaml:2 Secret cache"}, ms); d != "" {
		t.Errorf("manifests (-want +got):\n%s", d)
	}
	// The range excludes the base: nothing before it is reported, and an
	// empty range reports nothing.
	got = nil
	if err := rs.ScanHistory(context.Background(), dir, Range{Since: "HEAD", Until: "HEAD"}, Sink{Finding: func(f Finding) { got = append(got, f.RuleID) }}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("empty range: %v", got)
	}
	if err := rs.ScanHistory(context.Background(), dir, Range{Since: "no-such-rev"}, Sink{}); err == nil {
		t.Error("bad revision: want an error")
	}
}
