package kconfig

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// loadProfileText loads a user profile written inline.
func loadProfileText(t *testing.T, src string) (*Profile, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.toml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var l Loader
	return l.Load(path)
}

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, err := ParseConfig([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const baseConfig = `# Linux/x86_64 6.6.30 Kernel Configuration
CONFIG_X86_64=y
CONFIG_LOCALVERSION=""
CONFIG_MODULES=m
CONFIG_BPF_JIT=y
CONFIG_PANIC_TIMEOUT=-1
CONFIG_MMAP=0x10000
CONFIG_LSM="landlock,lockdown,yama"
# CONFIG_DEBUG_FS is not set
CONFIG_STR="sha512"
CONFIG_NUMSTR="0x40"
CONFIG_ARCH_MMAP_RND_BITS=32
CONFIG_ARCH_MMAP_RND_BITS_MAX=32
CONFIG_ARCH_MMAP_RND_COMPAT_BITS=8
CONFIG_ARCH_MMAP_RND_COMPAT_BITS_MAX=16
`

func TestRules(t *testing.T) {
	cfg := mustParse(t, baseConfig)
	cmdline, _ := ParseCmdline([]byte("nosmt mitigations=auto,nosmt init_on_alloc=on kpti=no mds=full spectre_v2=off,x iommu.passthrough=0 retbleed=0"))
	sysctl, _ := ParseSysctl([]byte("net.core.bpf_jit_harden = 1\nkernel.perf_event_paranoid = 3\nvm.mmap_rnd_bits = 32\n"))
	for _, tc := range []struct {
		name    string
		rule    string
		noInput bool // evaluate without cmdline and sysctl
		verdict Verdict
		actual  string
		note    string
	}{
		{"m never satisfies y", `kconfig = "MODULES"` + "\nis = \"y\"", false, Fail, "m", ""},
		{"m is m", `kconfig = "MODULES"` + "\nis = \"m\"", false, Pass, "m", ""},
		{"absent is not set", `kconfig = "IO_URING"` + "\nis = \"not set\"", false, Pass, "absent", ""},
		{"is not set comment", `kconfig = "CONFIG_DEBUG_FS"` + "\nis = \"not set\"", false, Pass, "is not set", ""},
		{"is not set is present", `kconfig = "DEBUG_FS"` + "\nis = \"present\"", false, Pass, "is not set", ""},
		{"absent is not present", `kconfig = "NOPE"` + "\nis = \"present\"", false, Fail, "absent", ""},
		{"explicitly not set", `id = "X"` + "\nall = [{ kconfig = \"DEBUG_FS\", is = \"not set\" }, { kconfig = \"DEBUG_FS\", is = \"present\" }]", false, Pass, "is not set", ""},
		{"absent is not explicitly not set", `id = "X"` + "\nall = [{ kconfig = \"LDISC_AUTOLOAD\", is = \"not set\" }, { kconfig = \"LDISC_AUTOLOAD\", is = \"present\" }]", false, Fail, "absent", ""},
		{"present", `kconfig = "LSM"` + "\nis = \"present\"", false, Pass, `"landlock,lockdown,yama"`, ""},
		{"negative value", `kconfig = "PANIC_TIMEOUT"` + "\nis = \"-1\"", false, Pass, "-1", ""},
		{"string value", `kconfig = "STR"` + "\nis = \"sha512\"", false, Pass, `"sha512"`, ""},
		{"hex ge", `kconfig = "MMAP"` + "\nge = 65536", false, Pass, "0x10000", ""},
		{"hex ge too small", `kconfig = "MMAP"` + "\nge = 65537", false, Fail, "0x10000", ""},
		{"ge absent", `kconfig = "NOPE"` + "\nge = 1", false, Fail, "absent", ""},
		{"hex equals decimal", `kconfig = "MMAP"` + "\nis = \"65536\"", false, Pass, "0x10000", ""},
		{"a string is not a number", `kconfig = "NUMSTR"` + "\nis = \"64\"", false, Fail, `"0x40"`, ""},
		{"equals another option", `kconfig = "ARCH_MMAP_RND_BITS"` + "\nis-kconfig = \"ARCH_MMAP_RND_BITS_MAX\"", false, Pass, "32", ""},
		{"below another option", `kconfig = "ARCH_MMAP_RND_COMPAT_BITS"` + "\nis-kconfig = \"ARCH_MMAP_RND_COMPAT_BITS_MAX\"", false, Fail, "8", ""},
		{"no option to compare with", `kconfig = "ARCH_MMAP_RND_BITS"` + "\nis-kconfig = \"NOPE_MAX\"", false, NotApplicable, "32", "cannot compare: the configuration has no CONFIG_NOPE_MAX"},
		{"sysctl equals a kconfig option", `sysctl = "vm.mmap_rnd_bits"` + "\nis-kconfig = \"ARCH_MMAP_RND_BITS_MAX\"", false, Pass, "32", ""},
		{"contains", `kconfig = "LSM"` + "\ncontains = \"lockdown\"", false, Pass, `"landlock,lockdown,yama"`, ""},
		{"contains no substring match", `kconfig = "LSM"` + "\ncontains = \"lock\"", false, Fail, `"landlock,lockdown,yama"`, ""},
		{"one-of", `kconfig = "PANIC_TIMEOUT"` + "\none-of = [\"0\", \"-1\"]", false, Pass, "-1", ""},
		{"when false is n/a", `kconfig = "MODULE_SIG_FORCE"` + "\nis = \"y\"\nwhen = { kconfig = \"MODULES\", is = \"y\" }", false, NotApplicable, "absent", "applies only when CONFIG_MODULES=y"},
		{"when arch", `kconfig = "ARM64_BTI"` + "\nis = \"y\"\nwhen = { arch = [\"arm64\"] }", false, NotApplicable, "absent", "applies only when arch is arm64"},
		{"when version ge", `kconfig = "NEW"` + "\nis = \"y\"\nwhen = { version-ge = \"6.7\" }", false, NotApplicable, "absent", "applies only when version >= 6.7"},
		{"when version holds", `kconfig = "NEW"` + "\nis = \"y\"\nwhen = { version-ge = \"6.6\" }", false, Fail, "absent", ""},
		{"when version lt", `kconfig = "OLD"` + "\nis = \"y\"\nwhen = { version-lt = \"6.7\" }", false, Fail, "absent", ""},
		{"since, kernel too old but not below the minimum", `kconfig = "NEW"` + "\nis = \"y\"\nsince = \"6.11\"", false, NotApplicable, "absent", "the option exists since Linux 6.11"},
		{"since, kernel below the minimum", `kconfig = "NEW"` + "\nis = \"y\"\nsince = \"6.11\"\nmin = \"6.12\"", false, Fail, "absent", "Linux 6.6.30 is older than the profile's minimum 6.12, and the option exists since 6.11"},
		{"since, not set holds anyway", `kconfig = "NEW"` + "\nis = \"not set\"\nsince = \"6.11\"\nmin = \"6.12\"", false, Pass, "absent", ""},
		{"since, kernel new enough", `kconfig = "MODULES"` + "\nis = \"y\"\nsince = \"6.6\"\nmin = \"6.12\"", false, Fail, "m", ""},
		{"until, kernel newer", `kconfig = "OLD"` + "\nis = \"y\"\nuntil = \"6.6.8\"", false, NotApplicable, "absent", "applies only before Linux 6.6.8"},
		{"until, kernel older", `kconfig = "OLD"` + "\nis = \"y\"\nuntil = \"6.7\"", false, Fail, "absent", ""},
		{"any one holds", `id = "X"` + "\nany = [{ kconfig = \"BPF_JIT\", is = \"not set\" }, { kconfig = \"DEBUG_FS\", is = \"not set\" }]", false, Pass, "CONFIG_BPF_JIT=y, CONFIG_DEBUG_FS is not set", ""},
		{"all one fails", `id = "X"` + "\nall = [{ kconfig = \"X86_64\", is = \"y\" }, { kconfig = \"MODULES\", is = \"not set\" }]", false, Fail, "CONFIG_X86_64=y, CONFIG_MODULES=m", ""},
		{"any with sysctl failing", `id = "X"` + "\nany = [{ kconfig = \"BPF_JIT\", is = \"not set\" }, { sysctl = \"net.core.bpf_jit_harden\", is = \"2\" }]", false, Fail, "CONFIG_BPF_JIT=y, sysctl:net.core.bpf_jit_harden=1", ""},
		{"any with sysctl missing", `id = "X"` + "\nany = [{ kconfig = \"BPF_JIT\", is = \"not set\" }, { sysctl = \"net.core.bpf_jit_harden\", is = \"2\" }]", true, Fail, "CONFIG_BPF_JIT=y, sysctl:net.core.bpf_jit_harden=(no --sysctl)", "not satisfied by what was given; give --sysctl to decide"},
		{"cmdline flag", `cmdline = "nosmt"` + "\nis = \"present\"", false, Pass, "present", ""},
		{"cmdline value", `cmdline = "mitigations"` + "\nis = \"auto,nosmt\"", false, Pass, "auto,nosmt", ""},
		{"cmdline contains", `cmdline = "mitigations"` + "\ncontains = \"nosmt\"", false, Pass, "auto,nosmt", ""},
		{"cmdline absent", `cmdline = "pti"` + "\nis = \"on\"", false, Fail, "absent", ""},
		{"cmdline bool true", `cmdline = "init_on_alloc"` + "\nbool = true", false, Pass, "on", ""},
		{"cmdline bool false", `cmdline = "iommu.passthrough"` + "\nbool = false", false, Pass, "0", ""},
		{"cmdline bool absent", `cmdline = "init_on_free"` + "\nbool = true", false, Fail, "absent", ""},
		{"cmdline not off", `cmdline = "mds"` + "\nnot-off = true", false, Pass, "full", ""},
		{"cmdline off in a list", `cmdline = "spectre_v2"` + "\nnot-off = true", false, Fail, "off,x", ""},
		{"cmdline 0 is off", `cmdline = "retbleed"` + "\nnot-off = true", false, Fail, "0", ""},
		{"cmdline not off, absent", `cmdline = "l1tf"` + "\nnot-off = true", false, Fail, "absent", ""},
		{"kstrtobool no is off", `cmdline = "kpti"` + "\nnot-off = true\nkstrtobool = true", false, Fail, "no", ""},
		{"kstrtobool full is not a bool", `cmdline = "mds"` + "\nnot-off = true", false, Pass, "full", ""},
		{"cmdline not given is skipped", `cmdline = "pti"` + "\nis = \"on\"", true, Skipped, "(no --cmdline)", "no --cmdline given"},
		{"sysctl ge", `sysctl = "kernel/perf_event_paranoid"` + "\nge = 3", false, Pass, "3", ""},
		{"when on a missing input is skipped", `kconfig = "X86_64"` + "\nis = \"y\"\nwhen = { cmdline = \"nosmt\", is = \"present\" }", true, Skipped, "(no --cmdline)", "cannot tell whether it applies (cmdline:nosmt is present): give --cmdline to decide"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rule, min, _ := strings.Cut(tc.rule, "\nmin = ")
			p, err := loadProfileText(t, "[[rule]]\nreason = \"r\"\n"+rule+"\n")
			if err != nil {
				t.Fatal(err)
			}
			in := &Input{Config: cfg, Cmdline: cmdline, Sysctl: sysctl, ConfigPath: "c"}
			if tc.noInput {
				in.Cmdline, in.Sysctl = nil, nil
			}
			var mv Version
			if min != "" {
				mv, _ = ParseVersion(strings.Trim(min, `"`))
			}
			got := p.Rules[0].Eval(in, mv)
			if got.Verdict != tc.verdict || got.Actual != tc.actual || got.Note != tc.note {
				t.Errorf("verdict %q actual %q note %q; want %q %q %q", got.Verdict, got.Actual, got.Note, tc.verdict, tc.actual, tc.note)
			}
		})
	}
}

func TestRuleLocation(t *testing.T) {
	cfg := mustParse(t, baseConfig)
	p, err := loadProfileText(t, `
[[rule]]
kconfig = "MODULES"
is = "not set"
reason = "r"
[[rule]]
kconfig = "IO_URING"
is = "y"
reason = "r"
`)
	if err != nil {
		t.Fatal(err)
	}
	rep := Evaluate(&Input{Config: cfg, ConfigPath: "kernel/config"}, []*Profile{p})
	got := [][2]any{{rep.Results[0].File, rep.Results[0].Line}, {rep.Results[1].File, rep.Results[1].Line}}
	want := [][2]any{{"kernel/config", 4}, {"kernel/config", 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("locations (-want +got):\n%s", diff)
	}
	f := rep.Findings("kconfig")
	if len(f) != 2 || f[0].Key != "rule:p/MODULES" || f[0].Location.Line != 4 || f[0].CheckID != "kconfig" ||
		f[0].Message != "CONFIG_MODULES: found m, want is not set" {
		t.Errorf("findings: %+v", f)
	}
}

func TestUserProfile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("base.toml", `
name = "base"
[[rule]]
kconfig = "KEXEC"
is = "not set"
reason = "no kexec"
`)
	path := write("mine.toml", `
name = "mine"
extends = ["anchor", "base.toml"]
severity = "critical"

[[rule]]
kconfig = "HIBERNATION"
is = "not set"
reason = "no resume images"

[[override]]
rule = "DEBUG_FS"
is = "y"
reason = "our debug image needs debugfs"

[[mute]]
rule = "IO_URING"
reason = "the database needs io_uring; tracked in TICKET-1"
`)
	var l Loader
	p, err := l.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range p.Rules {
		ids = append(ids, r.ID)
	}
	for _, id := range []string{"MODULES", "BPF_JIT", "KEXEC", "HIBERNATION"} {
		if !slices.Contains(ids, id) {
			t.Errorf("rule %s missing from %v", id, ids)
		}
	}
	cfg := mustParse(t, "# Linux/x86_64 6.6.0 Kernel Configuration\nCONFIG_X86_64=y\nCONFIG_IO_URING=y\nCONFIG_DEBUG_FS=y\nCONFIG_HIBERNATION=y\n")
	if r := p.Rules[0]; r.Profile != "anchor" {
		t.Errorf("inherited rule from %q", r.Profile)
	}
	rep := Evaluate(&Input{Config: cfg, ConfigPath: "c"}, []*Profile{p})
	byID := map[string]Result{}
	for _, r := range rep.Results {
		byID[r.ID] = r
	}
	if r := byID["IO_URING"]; r.Verdict != Muted || r.MuteReason == "" {
		t.Errorf("IO_URING: %+v", r)
	}
	if r := byID["DEBUG_FS"]; r.Verdict != Pass || r.Expected != "y" || r.Reason != "our debug image needs debugfs" {
		t.Errorf("DEBUG_FS override: %+v", r)
	}
	if r := byID["HIBERNATION"]; r.Verdict != Fail || r.Severity.String() != "critical" {
		t.Errorf("HIBERNATION: %+v", r)
	}
	if r := byID["KEXEC"]; r.Verdict != Pass || r.Profile != "mine" || r.From != "base" {
		t.Errorf("KEXEC from base: %+v", r)
	}
	if rep.Summary.Muted != 1 {
		t.Errorf("summary: %+v", rep.Summary)
	}
}

func TestProfileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unknown top key", "name = \"x\"\nbogus = 1\n", `p.toml:2:1: unknown key "bogus"`},
		{"unknown rule key", "[[rule]]\nkconfig = \"A\"\nis = \"y\"\nreason = \"r\"\n  iz = \"y\"\n", `p.toml:5:3: unknown key "rule.iz"`},
		{"unknown key in any", "[[rule]]\nid = \"x\"\nreason = \"r\"\nany = [{ kconfig = \"A\", iss = \"y\" }]\n", `p.toml:4:25: unknown key "rule.any.iss"`},
		{"wrong type", "[[rule]]\nkconfig = \"A\"\nge = \"10\"\n", `p.toml:3:6: cannot decode TOML string into struct field`},
		{"syntax", "[[rule]\n", `p.toml:1:`},
		{"no reason", "[[rule]]\nkconfig = \"A\"\nis = \"y\"\n", `p.toml:1: rule "A" needs a reason`},
		{"no test", "[[rule]]\nid = \"a\"\nreason = \"r\"\n", `p.toml:1: rule "a" has no test`},
		{"two ops", "\n[[rule]]\nkconfig = \"A\"\nis = \"y\"\nge = 1\nreason = \"r\"\n", `p.toml:2: rule "": CONFIG_A: want exactly one of is, ge, is-kconfig, contains, one-of, not-off, bool (have 2)`},
		{"no op", "[[rule]]\nkconfig = \"A\"\nreason = \"r\"\n", `want exactly one of is, ge, is-kconfig, contains, one-of, not-off, bool (have 0)`},
		{"two options", "[[rule]]\nkconfig = \"A\"\nsysctl = \"b\"\nis = \"y\"\nreason = \"r\"\n", `one test names one option`},
		{"mixed forms", "[[rule]]\nkconfig = \"A\"\nis = \"y\"\narch = [\"arm64\"]\nreason = \"r\"\n", `one test mixes an option test and arch`},
		{"op without option", "[[rule]]\nid = \"x\"\nis = \"y\"\nreason = \"r\"\n", `need kconfig, cmdline or sysctl`},
		{"compound needs id", "[[rule]]\nreason = \"r\"\nany = [{ kconfig = \"A\", is = \"y\" }]\n", `a rule with a compound test needs an id`},
		{"bad arch", "[[rule]]\nkconfig = \"A\"\nis = \"y\"\nwhen = { arch = [\"vax\"] }\nreason = \"r\"\n", `unknown architecture "vax"`},
		{"bad version", "[[rule]]\nkconfig = \"A\"\nis = \"y\"\nwhen = { version-ge = \"six\" }\nreason = \"r\"\n", `invalid kernel version "six"`},
		{"bad name", "[[rule]]\nkconfig = \"A B\"\nis = \"y\"\nreason = \"r\"\n", `invalid option name "A B"`},
		{"empty any", "[[rule]]\nid = \"x\"\nany = []\nreason = \"r\"\n", `any/all: empty list`},
		{"nested error", "[[rule]]\nid = \"x\"\nreason = \"r\"\nany = [{ kconfig = \"A\", is = \"y\" }, { all = [{ sysctl = \"k\" }] }]\n", `item 2: item 1: sysctl:k: want exactly one of`},
		{"duplicate", "[[rule]]\nkconfig = \"A\"\nis = \"y\"\nreason = \"r\"\n[[rule]]\nkconfig = \"A\"\nis = \"m\"\nreason = \"r\"\n", `p.toml:5: rule "A" defined twice`},
		{"mute unknown", "[[mute]]\nrule = \"NOPE\"\nreason = \"r\"\n", `p.toml:1: mute of unknown rule "NOPE"`},
		{"mute no reason", "extends = [\"anchor\"]\n[[mute]]\nrule = \"MODULES\"\n", `p.toml:2: mute of "MODULES" needs a reason`},
		{"override unknown", "[[override]]\nrule = \"NOPE\"\nis = \"y\"\n", `override of unknown rule "NOPE"`},
		{"unknown builtin", "extends = [\"nope\"]\n", `p.toml:1: extends nope: unknown profile "nope"`},
		{"bad severity", "severity = \"huge\"\n", `p.toml:1: severity: unknown severity (want one of`},
		{"bad category", "category = \"misc\"\n", `p.toml:1: category: unknown category "misc"`},
		{"bad min_version", "min_version = \"six\"\n", `p.toml:1: min_version: invalid kernel version "six"`},
		{"bad since", "[[rule]]\nkconfig = \"A\"\nis = \"y\"\nsince = \"x\"\nreason = \"r\"\n", `rule "A": since: invalid kernel version "x"`},
		{"not-off on kconfig", "[[rule]]\nkconfig = \"A\"\nnot-off = true\nreason = \"r\"\n", `CONFIG_A: not-off is for command-line parameters`},
		{"bool on sysctl", "[[rule]]\nsysctl = \"a.b\"\nbool = true\nreason = \"r\"\n", `sysctl:a.b: bool is for command-line parameters`},
		{"kstrtobool alone", "[[rule]]\ncmdline = \"a\"\nkstrtobool = true\nis = \"1\"\nreason = \"r\"\n", `kstrtobool goes with not-off`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadProfileText(t, tc.src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestExtendsCycle(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.toml"), []byte(`extends = ["b.toml"]`), 0o644)
	os.WriteFile(filepath.Join(dir, "b.toml"), []byte(`extends = ["a.toml"]`), 0o644)
	var l Loader
	_, err := l.Load(filepath.Join(dir, "a.toml"))
	if err == nil || !strings.Contains(err.Error(), "extends itself") {
		t.Errorf("err = %v", err)
	}
}

func TestBuiltinProfilesLoad(t *testing.T) {
	want := []string{"anchor", "khc-author", "khc-clipos", "khc-defconfig", "khc-grsecurity", "khc-kspp", "khc-lockdown", "khc-network", "khc", "kspp"}
	if diff := cmp.Diff(want, Builtins()); diff != "" {
		t.Errorf("builtins (-want +got):\n%s", diff)
	}
	for _, name := range Builtins() {
		var l Loader
		p, err := l.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Replaced) > 0 {
			t.Errorf("%s: rules %v are defined twice across the profiles it extends", name, p.Replaced)
		}
		for _, r := range p.Rules {
			if r.Reason == "" || r.Source == "" {
				t.Errorf("%s/%s: every shipped rule needs a reason and a source", name, r.ID)
			}
			if strings.HasPrefix(name, "khc") && r.Category == "" {
				t.Errorf("%s/%s: every khc rule has khc's category", name, r.ID)
			}
		}
	}
}
