package hostaudit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nixgate/nixgate/internal/nixcli"
)

// buildProbeBin builds the stand-in builder statically, as the real
// nixgate is built.
func buildProbeBin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "probebin")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/probebin")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build probe binary: %v\n%s", err, out)
	}
	return bin
}

func needNix(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"nix", "nix-build", "nix-store"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (scripts/deps.sh installs nix-bin)", tool)
		}
	}
}

func probeEnv(o nixcli.HostOptions) ProbeEnv {
	return ProbeEnv{
		Add:    func(ctx context.Context, f string) (string, error) { return nixcli.ProbeAdd(ctx, o, f) },
		Build:  func(ctx context.Context, e string) (string, error) { return nixcli.ProbeBuild(ctx, o, e) },
		Cat:    func(ctx context.Context, p string) ([]byte, error) { return nixcli.ProbeCat(ctx, o, p) },
		Delete: func(ctx context.Context, p string) error { return nixcli.ProbeDelete(ctx, o, p) },
	}
}

func TestProbe(t *testing.T) {
	needNix(t)
	bin := buildProbeBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("enforced on a chroot store with sandbox = true", func(t *testing.T) {
		store := filepath.Join(t.TempDir(), "store")
		o := nixcli.HostOptions{Store: store, Options: [][2]string{{"sandbox", "true"}, {"substituters", ""}}}
		res, err := RunProbe(ctx, store, bin, probeEnv(o))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %v %+v", res.OutPath, res.Evidence, res.Record)
		if res.Verdict != Enforced {
			t.Errorf("verdict %s, want %s; evidence:\n%v\nrecord: %+v", res.Verdict, Enforced, res.Evidence, res.Record)
		}
		// The planted path is in the store, outside the probe's closure:
		// hidden in the sandbox.
		if res.StoreIsolation != StoreIsolated || !res.Record.StoreProbed || res.Record.PlantedRead || res.Record.PlantedListed {
			t.Errorf("store isolation %q, record %+v; want isolated", res.StoreIsolation, res.Record)
		}
		if _, err := os.Stat(filepath.Join(store, res.Planted)); err == nil {
			t.Errorf("the planted path %s was not removed", res.Planted)
		}
	})
	t.Run("absent on the local store with sandbox = false", func(t *testing.T) {
		if os.Getuid() != 0 {
			t.Fatal("building in the local /nix/store needs root here (no nix-daemon): the tests run as root")
		}
		o := nixcli.HostOptions{Options: [][2]string{{"sandbox", "false"}, {"substituters", ""}}}
		res, err := RunProbe(ctx, "", bin, probeEnv(o))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %v %+v", res.OutPath, res.Evidence, res.Record)
		if res.Verdict != Absent {
			t.Errorf("verdict %s, want %s; evidence:\n%v\nrecord: %+v", res.Verdict, Absent, res.Evidence, res.Record)
		}
		if !res.ListenerHit || !res.Record.HostFileNonce {
			t.Errorf("expected the listener and host file to be reached: %+v", res)
		}
		// Without the sandbox the build lists /nix/store and reads the
		// planted path, nonce and all.
		if res.StoreIsolation != StoreExposed || !res.Record.PlantedListed || !res.Record.PlantedNonce || res.Record.StoreEntries < 2 {
			t.Errorf("store isolation %q, record %+v; want exposed", res.StoreIsolation, res.Record)
		}
		if _, err := os.Stat(res.Planted); err == nil {
			t.Errorf("the planted path %s was not removed", res.Planted)
		}
	})
}
