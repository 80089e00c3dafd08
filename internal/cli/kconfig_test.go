package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/nixgate/nixgate/internal/kconfig"
)

const kconfigData = "../kconfig/testdata/"

func TestKconfigCommand(t *testing.T) {
	hardened := "../../examples/anchor/kernel/hardened.config"
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	profile := write("gate.toml", "extends = [\"anchor\"]\n[[mute]]\nrule = \"MODULES\"\nreason = \"GPU driver\"\n")
	bad := write("bad.toml", "extends = [\"anchor\"]\nbogus = true\n")
	badCmdline := write("cmdline", `quiet "init=/x`)
	weakCmdline := write("weak-cmdline", "init=/sbin/anchor-init nokaslr init_on_alloc=0 lsm=yama,landlock module.sig_enforce=0\n")
	indented := write("indented.config", "CONFIG_LOCALVERSION=\"\"\nCONFIG_X86_64=y\n  CONFIG_SECURITY_LOCKDOWN_LSM=y\n")
	empty := write("empty.config", "# nothing\n")
	noArch := write("noarch.config", "CONFIG_LOCALVERSION=\"\"\nCONFIG_MODULES=y\n")
	sysctlTwice := write("sysctl.conf", "kernel.unprivileged_bpf_disabled = 1\nkernel.unprivileged_bpf_disabled = 0\n")
	policyFile := write("nixgate.toml", "version = 1\nfail-on = \"critical\"\n[checks.kconfig-anchor]\nseverity = \"critical\"\ninit = \"/sbin/anchor-init\"\n")
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"distribution fails anchor", []string{"kconfig", kconfigData + "configs/Debian_13_Trixie_x86_64.config.gz"}, 1,
			[]string{"  FAIL     CONFIG_MODULES ", "FAILED: ", "[kconfig-anchor]"}, ""},
		{"hardened passes anchor and kspp", []string{"kconfig", hardened, "-p", "anchor", "-p", "kspp",
			"--cmdline", kconfigData + "kspp-cmdline-x86-64.txt", "--sysctl", kconfigData + "kspp-sysctl.txt"}, 1,
			[]string{"profile anchor:", "profile kspp:", "cmdline:init: found absent, want is present"}, ""},
		{"khc", []string{"kconfig", hardened, "-p", "khc"}, 1, []string{"profile khc:", "-- from khc-grsecurity", "[kconfig-khc]"}, ""},
		{"a khc part", []string{"kconfig", hardened, "-p", "khc-lockdown", "-f", "json"}, 1, []string{`"profiles": [`, `"khc-lockdown"`}, ""},
		{"markdown", []string{"kconfig", hardened, "--format", "markdown"}, 0, []string{"| OK | `CONFIG_MODULES` | `is not set` | `is not set` |", "nixgate kconfig: passed"}, ""},
		{"sarif at the config line", []string{"kconfig", kconfigData + "configs/x86_64_defconfig_6.17.config.gz", "-f", "sarif"}, 1,
			[]string{`"ruleId": "kconfig-anchor"`, `"startLine": 896`, "CONFIG_MODULES: found y, want is not set"}, ""},
		{"command line undoes the gate", []string{"kconfig", hardened, "--cmdline", weakCmdline}, 1,
			[]string{"cmdline:nokaslr: found present", "cmdline:init_on_alloc: found 0", "cmdline:lsm: found yama,landlock", "cmdline:module.sig_enforce: found 0"}, ""},
		{"policy: severity and init", []string{"kconfig", hardened, "--policy", policyFile, "--cmdline", write("c2", "init=/bin/sh\n")}, 1,
			[]string{"CRITICAL cmdline:init: found /bin/sh, want /sbin/anchor-init"}, ""},
		{"fail-on above the findings", []string{"kconfig", kconfigData + "configs/Debian_13_Trixie_x86_64.config.gz", "--fail-on", "critical"}, 0,
			[]string{"PASSED: "}, ""},
		{"only the input check", []string{"kconfig", hardened, "--only", "kconfig-input"}, 0, []string{"1 check ran"}, ""},
		{"sysctl key set twice", []string{"kconfig", hardened, "--sysctl", sysctlTwice}, 1,
			[]string{"2 MEDIUM sysctl kernel.unprivileged_bpf_disabled set 2 times; the last, 0, wins  [kconfig-input]",
				"sysctl:kernel.unprivileged_bpf_disabled: found 0"}, ""},
		{"old kernel below the minimum", []string{"kconfig", kconfigData + "configs/Debian_10_Buster_x86_64.config.gz", "-p", "kspp", "-f", "json"}, 1,
			[]string{"older than the profile's minimum 6.12"}, ""},
		{"min-version lowered", []string{"kconfig", kconfigData + "configs/Debian_10_Buster_x86_64.config.gz", "-p", "kspp", "--min-version", "4.19", "-f", "json"}, 1,
			[]string{"the option exists since Linux"}, ""},
		{"user profile mutes", []string{"kconfig", kconfigData + "configs/Debian_13_Trixie_x86_64.config.gz", "-p", profile}, 1, []string{"profile gate:", "muted: GPU driver", "[kconfig-profile]"}, ""},
		{"unknown key in profile", []string{"kconfig", hardened, "-p", bad}, 2, nil, `bad.toml:2:1: unknown key "bogus"`},
		{"unknown profile", []string{"kconfig", hardened, "-p", "nope"}, 2, nil, `unknown profile "nope"`},
		{"missing config", []string{"kconfig", "nope.config"}, 2, nil, "read kernel configuration nope.config"},
		{"a FIFO is refused", []string{"kconfig", fifo}, 2, nil, "is a FIFO, not a regular file"},
		{"indented line", []string{"kconfig", indented}, 2, nil, indented + ":3:1: indented line"},
		{"empty config", []string{"kconfig", empty}, 2, nil, "no CONFIG_ option: an empty or comment-only file"},
		{"no architecture", []string{"kconfig", noArch}, 2, nil, "does not say its architecture"},
		{"--arch decides", []string{"kconfig", noArch, "--arch", "riscv", "--only", "kconfig-input"}, 0, []string{"kernel: riscv (--arch)"}, ""},
		{"bad arch", []string{"kconfig", hardened, "--arch", "vax"}, 2, nil, "--arch: unknown architecture"},
		{"--arch contradicts", []string{"kconfig", hardened, "--arch", "arm64"}, 2, nil, "--arch arm64 contradicts the configuration"},
		{"bad format", []string{"kconfig", hardened, "--format", "xml"}, 2, nil, "unknown --format"},
		{"bad cmdline", []string{"kconfig", hardened, "--cmdline", badCmdline}, 2, nil, "read kernel command line: " + badCmdline + ":1:7: unterminated quote"},
		{"bad --only", []string{"kconfig", hardened, "--only", "secret-leak"}, 2, nil, `no kconfig check matches "secret-leak"`},
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

// The text report fits 100 columns, with every profile.
func TestKconfigTextWidth(t *testing.T) {
	stdout, _, code := run(t, "kconfig", kconfigData+"configs/nixpkgs-linux_latest.config.gz", "-p", "anchor", "-p", "kspp", "-p", "khc",
		"--cmdline", kconfigData+"cmdline-weak.txt", "--sysctl", kconfigData+"sysctl-weak.txt")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for i, l := range strings.Split(stdout, "\n") {
		if n := utf8.RuneCountInString(l); n > 100 {
			t.Errorf("line %d is %d columns: %q", i+1, n, l)
		}
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
		Command       string
		Findings      []struct{ CheckID, Message, Fingerprint string }
		Extra         struct {
			SchemaVersion int
			Arch          string
			Version       string
			Reports       []struct {
				Check    string
				Profiles []string
				Results  []struct{ ID, Verdict, Actual string }
			}
		}
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	x := r.Extra
	if r.Command != "kconfig" || x.SchemaVersion != 2 || x.Arch != "x86_64" || x.Version != "6.17.5" || len(x.Reports) != 2 ||
		x.Reports[0].Check != "kconfig-anchor" || x.Reports[1].Check != "kconfig-kspp" || len(x.Reports[1].Results) < 150 {
		t.Errorf("report: %+v", r.Extra)
	}
	if len(r.Findings) == 0 || r.Findings[0].Fingerprint == "" {
		t.Errorf("findings: %+v", r.Findings)
	}
}

// A baseline accepts known failures: they move to "suppressed".
func TestKconfigBaseline(t *testing.T) {
	dir := t.TempDir()
	cfg := kconfigData + "configs/Debian_13_Trixie_x86_64.config.gz"
	stdout, _, _ := run(t, "kconfig", cfg, "-f", "json")
	var r struct {
		Findings []struct{ Fingerprint string }
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Findings) == 0 {
		t.Fatalf("%v: %s", err, stdout)
	}
	var entries []string
	for _, f := range r.Findings {
		entries = append(entries, `{"fingerprint": "`+f.Fingerprint+`", "checkId": "kconfig-anchor", "message": "m", "reason": "distribution kernel, tracked in TICKET-7"}`)
	}
	base := filepath.Join(dir, "baseline.json")
	os.WriteFile(base, []byte(`{"schemaVersion": 1, "findings": [`+strings.Join(entries, ",")+`]}`), 0o644)
	stdout, stderr, code := run(t, "kconfig", cfg, "--baseline", base)
	if code != 0 || !strings.Contains(stdout, "suppressed") {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// The kconfig section of the JSON report is written by hand: it must be
// what json.Marshal writes.
func TestKconfigExtraJSON(t *testing.T) {
	n := 0 // fields, those of kconfig.Inputs counted one by one
	for _, f := range reflect.VisibleFields(reflect.TypeFor[kconfigExtra]()) {
		if !f.Anonymous {
			n++
		}
	}
	if n != 9 {
		t.Fatalf("kconfigExtra has %d fields: write the new ones in its AppendJSON and here", n)
	}
	odd := `<b>&"x"` + "\u2028\xff"
	r := &kconfig.Report{Inputs: kconfig.Inputs{SchemaVersion: 2, Config: odd, Arch: "x86_64"}, Profiles: []string{"khc"}, Results: []kconfig.Result{{ID: odd, Line: 3}}}
	for _, x := range []kconfigExtra{
		{},
		{Inputs: kconfig.Inputs{SchemaVersion: 2, Config: odd, Cmdline: odd, Sysctl: odd, Arch: odd, ArchSource: odd, Version: odd, VersionSource: odd},
			Reports: []kconfig.CheckReport{{Check: odd, Report: r}, {Check: "empty"}}},
	} {
		want, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		if got := x.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("AppendJSON:\n got %s\nwant %s", got, want)
		}
	}
}
