package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kconfigData = "../kconfig/testdata/"

func TestKconfigCommand(t *testing.T) {
	hardened := "../../examples/anchor/kernel/hardened.config"
	profile := filepath.Join(t.TempDir(), "gate.toml")
	os.WriteFile(profile, []byte("extends = [\"anchor\"]\n[[mute]]\nrule = \"MODULES\"\nreason = \"GPU driver\"\n"), 0o644)
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("extends = [\"anchor\"]\nbogus = true\n"), 0o644)
	badCmdline := filepath.Join(t.TempDir(), "cmdline")
	os.WriteFile(badCmdline, []byte(`quiet "init=/x`), 0o644)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"distribution fails anchor", []string{"kconfig", kconfigData + "configs/Debian_13_Trixie_x86_64.config.gz"}, 1,
			[]string{"CONFIG_MODULES  ", "FAIL: "}, ""},
		{"hardened passes anchor and kspp", []string{"kconfig", hardened, "-p", "anchor", "-p", "kspp",
			"--cmdline", kconfigData + "kspp-cmdline-x86-64.txt", "--sysctl", kconfigData + "kspp-sysctl.txt"}, 0,
			[]string{"profile anchor", "profile kspp", "PASS: "}, ""},
		{"markdown", []string{"kconfig", hardened, "--format", "markdown"}, 0, []string{"| `CONFIG_MODULES` | `is not set` | `is not set` | OK |"}, ""},
		{"sarif at the config line", []string{"kconfig", kconfigData + "configs/kspp-kconfig-arm.config", "-f", "sarif"}, 1,
			[]string{`"ruleId": "kconfig"`, "CONFIG_LSM: expected contains lockdown, found absent"}, ""},
		{"sarif line", []string{"kconfig", kconfigData + "configs/x86_64_defconfig_6.17.config.gz", "-f", "sarif"}, 1,
			[]string{`"startLine": 896`, "CONFIG_MODULES: expected is not set, found y"}, ""},
		{"user profile mutes", []string{"kconfig", hardened, "-p", profile}, 0, []string{"profile gate"}, ""},
		{"unknown key in profile", []string{"kconfig", hardened, "-p", bad}, 2, nil, `bad.toml:2:1: unknown key "bogus"`},
		{"unknown profile", []string{"kconfig", hardened, "-p", "nope"}, 2, nil, `unknown profile "nope"`},
		{"missing config", []string{"kconfig", "nope.config"}, 2, nil, "read kernel configuration nope.config"},
		{"bad arch", []string{"kconfig", hardened, "--arch", "vax"}, 2, nil, "--arch: unknown architecture"},
		{"bad format", []string{"kconfig", hardened, "--format", "xml"}, 2, nil, "unknown --format"},
		{"bad cmdline", []string{"kconfig", hardened, "--cmdline", badCmdline}, 2, nil, "read kernel command line " + badCmdline + ": 1:7: unterminated quote"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr)
			}
		})
	}
}

func TestKconfigJSON(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	_, _, code := run(t, "kconfig", kconfigData+"configs/nixpkgs-linux_latest.config.gz", "-p", "anchor", "-p", "kspp", "-f", "json", "-o", out)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		SchemaVersion int
		Arch          string
		Profiles      []string
		Results       []struct{ ID, Verdict string }
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.SchemaVersion != 1 || r.Arch != "x86_64" || len(r.Profiles) != 2 || len(r.Results) < 150 {
		t.Errorf("report: schema %d arch %q profiles %v, %d results", r.SchemaVersion, r.Arch, r.Profiles, len(r.Results))
	}
}
