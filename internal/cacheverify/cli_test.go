package cacheverify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/cli"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestCLI runs `nixgate cache verify` on the mutated cache: every format,
// the exit codes, the policy's [cache] table.
func TestCLI(t *testing.T) {
	f, dir := mutatedCache(t)
	keyArgs := []string{"--trusted-key", f.public["a"], "--trusted-key", f.public["b"], "--trusted-key", f.public["c"]}
	base := append([]string{"cache", "verify", "file://" + dir, "--all", "--require", "2", "--scan-references"}, keyArgs...)

	code, out, stderr := runCLI(t, append(base, "--format", "json")...)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	var rep struct {
		Checks   []struct{ ID string }
		Findings []struct {
			CheckID  string
			Severity string
			Message  string
			Location struct{ Path string }
		}
		Extra struct {
			Paths []struct{ StorePath, Verdict string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Checks) != 7 {
		t.Errorf("%d checks ran, want the 7 cache checks", len(rep.Checks))
	}
	bad := 0
	for _, m := range mutations {
		if m.want != "OK" {
			bad++
		}
	}
	if len(rep.Findings) != bad || len(rep.Extra.Paths) != len(mutations) {
		t.Errorf("%d findings and %d paths, want %d and %d", len(rep.Findings), len(rep.Extra.Paths), bad, len(mutations))
	}
	for _, fd := range rep.Findings {
		if strings.HasPrefix(fd.Message, "FORGED") && (fd.CheckID != "cache-signature" || fd.Severity != "critical") {
			t.Errorf("forged finding: %+v", fd)
		}
		if !strings.HasSuffix(fd.Location.Path, ".narinfo") {
			t.Errorf("finding located at %q", fd.Location.Path)
		}
	}
	for _, format := range []string{"text", "markdown", "sarif"} {
		code, out, _ := runCLI(t, append(base, "--format", format)...)
		if code != 1 || !strings.Contains(out, "FORGED") || !strings.Contains(out, "NAR_MALFORMED") {
			t.Errorf("--format %s: exit %d\n%s", format, code, out)
		}
		if format == "text" && !strings.Contains(out, "trust: 2 of 3 distinct trusted key(s) required (--trusted-key: key-a, key-b, key-c)") {
			t.Errorf("text summary:\n%s", out)
		}
	}

	// The policy's [cache] table gives the keys and the requirement; a
	// policy that turns cache-signature off has untrusted paths fetched.
	pol := filepath.Join(t.TempDir(), "nixgate.toml")
	os.WriteFile(pol, []byte("[cache]\nrequire = 2\nkeys = [\""+strings.Join(f.trusted(), "\", \"")+"\"]\n[checks.cache-signature]\nenabled = false\n"), 0o644)
	code, out, stderr = runCLI(t, "cache", "verify", "file://"+dir, "--paths", writeList(t, f.paths["sig-a"], f.paths["lib"]), "--policy", pol, "--format", "json")
	if code != 0 {
		t.Errorf("sig-a with cache-signature off: exit %d\n%s%s", code, out, stderr)
	}

	// A clean run exits 0.
	code, out, stderr = runCLI(t, append([]string{"cache", "verify", "file://" + dir, "--paths", writeList(t, f.paths["lib"], f.paths["sig-abc"]), "--require", "2"}, keyArgs...)...)
	if code != 0 || !strings.Contains(out, "PASSED") {
		t.Errorf("clean run: exit %d\n%s%s", code, out, stderr)
	}

	// The cache cannot be read: exit 3.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/nix-cache-info" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(500)
	}))
	defer srv.Close()
	code, _, stderr = runCLI(t, append([]string{"cache", "verify", srv.URL, "--paths", writeList(t, f.paths["lib"])}, keyArgs...)...)
	if code != 3 || !strings.Contains(stderr, "HTTP 500") {
		t.Errorf("unreadable cache: exit %d\n%s", code, stderr)
	}

	// Usage errors: exit 2.
	for _, args := range [][]string{
		{"cache", "verify", "file://" + dir},
		{"cache", "verify", "file://" + dir, "--all", "--paths", "x"},
		{"cache", "verify", "file://" + dir, "--all", "--nar", "most"},
		{"cache", "verify", "file://" + dir, "--all", "--require", "3", "--trusted-key", f.public["a"]},
		{"cache", "verify", "file://" + dir, "--all", "--trusted-key", "not-a-key"},
		{"cache", "verify", "ftp://x", "--all"},
		{"cache", "verify", "file://" + dir, "--closure", "/tmp/not-a-store-path"},
	} {
		if code, _, stderr := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, stderr)
		}
	}
}

func writeList(t *testing.T, paths ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "paths")
	os.WriteFile(p, []byte("# paths\n"+strings.Join(paths, "\n")+"\n"), 0o644)
	return p
}
