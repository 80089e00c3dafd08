package cli

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestHostProbe builds the static nixgate binary and runs `nixgate host
// --probe` with the real nix: the sandbox is enforced on a chroot store
// with sandbox = true, and absent on the local store with sandbox = false.
func TestHostProbe(t *testing.T) {
	for _, tool := range []string{"nix", "nix-build", "nix-store"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make deps installs nix-bin)", tool)
		}
	}
	_, self, _, _ := runtime.Caller(0)
	bin := filepath.Join(t.TempDir(), "nixgate")
	build := exec.Command("go", "build", "-o", bin, "./cmd/nixgate")
	build.Dir = filepath.Join(filepath.Dir(self), "..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build nixgate: %v\n%s", err, out)
	}
	run := func(t *testing.T, args ...string) (map[string]any, int) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"host", "--probe", "--format", "json", "--only", "host-sandbox-probe"}, args...)...)
		cmd.Dir = t.TempDir()
		out, err := cmd.Output()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
			t.Logf("stderr: %s", ee.Stderr)
		} else if err != nil {
			t.Fatal(err)
		}
		var rep map[string]any
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("report: %v\n%s", err, out)
		}
		return rep, code
	}
	verdict := func(rep map[string]any) string {
		probe, _ := rep["extra"].(map[string]any)["probe"].(map[string]any)
		v, _ := probe["verdict"].(string)
		return v
	}
	t.Run("enforced", func(t *testing.T) {
		store := filepath.Join(t.TempDir(), "store")
		rep, code := run(t, "--store", store, "--option", "sandbox=true", "--option", "substituters=")
		if v := verdict(rep); v != "enforced" || code != 0 {
			t.Errorf("verdict %q exit %d, want enforced exit 0: %v", v, code, rep["extra"])
		}
	})
	t.Run("absent", func(t *testing.T) {
		if os.Getuid() != 0 {
			t.Skip("building in the local /nix/store needs root here (no nix-daemon)")
		}
		rep, code := run(t, "--option", "sandbox=false", "--option", "substituters=")
		if v := verdict(rep); v != "absent" || code != 1 {
			t.Errorf("verdict %q exit %d, want absent exit 1: %v", v, code, rep["extra"])
		}
	})
	t.Run("usage", func(t *testing.T) {
		cmd := exec.Command(bin, "host", "--probe", "--root", "/")
		if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != 2 {
			t.Errorf("--probe with --root: %v, want exit 2", err)
		}
	})
}
