package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const lockPairs = "../lockdiff/testdata/pairs/"

func TestLockDiffFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  []string
	}{
		{"owner change fails", []string{"lock", "diff", lockPairs + "nix-community__infra__6a24ef02f9.before.lock", lockPairs + "nix-community__infra__6a24ef02f9.after.lock"},
			ExitFindings, []string{"source changed: github.com/hercules-ci/pre-commit-hooks.nix → github.com/cachix/pre-commit-hooks.nix", "risk high"}},
		{"branch switch passes", []string{"lock", "diff", "--format", "markdown", lockPairs + "NixOS__nix__233bd250d1.before.lock", lockPairs + "NixOS__nix__233bd250d1.after.lock"},
			ExitClean, []string{"`dependency-update`", "branch/ref changed: nixos-25.05-small → nixos-25.05"}},
		{"fail-on medium", []string{"lock", "diff", "--fail-on", "medium", "--format", "json", lockPairs + "NixOS__nix__233bd250d1.before.lock", lockPairs + "NixOS__nix__233bd250d1.after.lock"},
			ExitFindings, []string{`"schemaVersion": 1`, `"code": "ref-change"`}},
		{"missing file", []string{"lock", "diff", "nope.lock", "nope2.lock"}, ExitUsage, nil},
		{"one arg", []string{"lock", "diff", "a"}, ExitUsage, nil},
		{"bad fail-on", []string{"lock", "diff", "--fail-on", "x", "a", "b"}, ExitUsage, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errOut)
			}
			for _, s := range tc.out {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

func TestLockDiffGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	cp := func(src string) {
		b, err := os.ReadFile(lockPairs + src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "flake.lock"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	git("commit", "-q", "--allow-empty", "-m", "empty")
	cp("NixOS__nix__233bd250d1.before.lock")
	git("add", "flake.lock")
	git("commit", "-q", "-m", "before")
	cp("NixOS__nix__233bd250d1.after.lock")
	git("commit", "-q", "-am", "after")

	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)

	out, errOut, code := run(t, "lock", "diff", "--git", "HEAD~1..HEAD")
	if code != 0 || !strings.Contains(out, "nixos-25.05-small → nixos-25.05") {
		t.Errorf("range: exit %d\n%s%s", code, out, errOut)
	}
	// Against the work tree, unchanged since HEAD.
	out, _, code = run(t, "lock", "diff", "--git", "HEAD")
	if code != 0 || !strings.Contains(out, "no input changed") {
		t.Errorf("work tree: exit %d\n%s", code, out)
	}
	// The lock did not exist at HEAD~2: every input is added.
	out, _, code = run(t, "lock", "diff", "--git", "HEAD~2..HEAD", "flake.lock")
	if code != 0 || !strings.Contains(out, "Added input 'nixpkgs'") {
		t.Errorf("added lock: exit %d\n%s", code, out)
	}
	_, errOut, code = run(t, "lock", "diff", "--git", "nope")
	if code != ExitUsage || !strings.Contains(errOut, `"nope" is not a commit`) {
		t.Errorf("bad revision: exit %d\n%s", code, errOut)
	}
}

// TestLockDiffHostile: locks Nix refuses are bad input with a position,
// never a panic; devices and oversized files are refused before reading;
// names from a lock reach the text report escaped.
func TestLockDiffHostile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	node := func(key, inputs, owner string) string {
		return `"` + key + `":{"inputs":{` + inputs + `},"locked":{"type":"github","owner":"` + owner + `","repo":"nixpkgs","rev":"` + rev + `"},"original":{"type":"github","owner":"` + owner + `","repo":"nixpkgs"}}`
	}
	good := write("good.lock", `{"nodes":{"root":{"inputs":{"a":"a"}},`+node("a", "", "NixOS")+`},"root":"root","version":7}`)
	cycle := write("cycle.lock", "{\"nodes\":{\"root\":{\"inputs\":{\"a\":\"a\"}},\n"+node("a", `"r":"root"`, "NixOS")+`},"root":"root","version":7}`)
	esc := write("esc.lock", `{"nodes":{"root":{"inputs":{"a\u001b[31mred":"a"}},`+node("a", "", "NixOS")+`},"root":"root","version":7}`)
	big := filepath.Join(dir, "big.lock")
	if err := os.WriteFile(big, make([]byte, 17<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"cycle to root", []string{"lock", "diff", good, cycle}, ExitUsage, "cycle.lock: 2:1: node \"a\": input \"r\" leads back to the root node"},
		{"device", []string{"lock", "diff", good, "/dev/zero"}, ExitUsage, "read new lock"},
		{"oversized", []string{"lock", "diff", big, good}, ExitUsage, "read old lock"},
		{"escaped name", []string{"lock", "diff", good, esc}, ExitClean, `a\x1b[31mred`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out+errOut, tc.want) {
				t.Errorf("output lacks %q:\n%s%s", tc.want, out, errOut)
			}
			if strings.Contains(out, "\x1b") {
				t.Errorf("raw escape in the report:\n%q", out)
			}
		})
	}
}
