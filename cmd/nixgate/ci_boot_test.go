//go:build boot

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nixgate/nixgate/internal/ukifixture"
)

// TestCIBootTest is the uki-boot-test gate for real (make test-boot, which
// installs QEMU): nixgate ci boots the image signed with OVMF's snakeoil key
// under the Secure-Boot-enforcing firmware (BOOTED: the gate passes, exit
// 0), and the image signed by another key is refused by the firmware
// (REFUSED: the gate fails, exit 1).
func TestCIBootTest(t *testing.T) {
	bin := nixgateBinary(t)
	fx := ukifixture.Get(t)
	for _, tc := range []struct {
		name, file, outcome string
		exit                int
	}{
		{"signed", fx.Signed, "passed", 0},
		{"other key", fx.Other, "failed", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			policy := fmt.Sprintf("version = 1\n[ci]\ngates = [\"uki-boot-test\"]\n[ci.uki]\nfile = %q\ncheck = false\nboot-test = true\nexpect = \"NIXGATE-BOOT-OK\"\nboot-timeout = \"240s\"\n", tc.file)
			os.WriteFile(filepath.Join(dir, "nixgate.toml"), []byte(policy), 0o644)
			cmd := exec.Command(bin, "ci", dir, "--format", "json")
			cmd.Env = append(os.Environ(), "GITHUB_ACTIONS=", "GITLAB_CI=")
			out, err := cmd.Output()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
				t.Logf("stderr:\n%s", ee.Stderr)
			}
			var r ciReport
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if code != tc.exit || len(r.Gates) != 1 || r.Gates[0].Name != "uki-boot-test" || r.Gates[0].Outcome != tc.outcome {
				t.Errorf("exit %d, gates %+v; want exit %d, uki-boot-test %s", code, r.Gates, tc.exit, tc.outcome)
			}
			t.Logf("%s: %s", tc.name, r.Gates[0].Summary)
		})
	}
}
