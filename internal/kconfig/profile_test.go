package kconfig

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func readConfig(t testing.TB, path string) *Config {
	t.Helper()
	c, err := ReadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func resultByID(t testing.TB, rep *Report, profile, id string) Result {
	t.Helper()
	i := slices.IndexFunc(rep.Results, func(r Result) bool { return r.Profile == profile && r.ID == id })
	if i < 0 {
		t.Fatalf("no result for %s/%s", profile, id)
	}
	return rep.Results[i]
}

// The KSPP fragments are the recommendations themselves, so each passes
// the kspp profile for its architecture, except for the rules below: they
// need an option the fragment does not set. Each fragment recommends
// enabling Yama, Landlock and lockdown but leaves the ordered LSM list
// (CONFIG_LSM) to the rest of the configuration, and the fragments predate
// KSPP's SLAB_BUCKETS and PROC_MEM_NO_FORCE recommendations.
var ksppFragmentExceptions = map[string][]string{
	"kspp-kconfig-arm.config":   {"LSM_LANDLOCK", "LSM_LOCKDOWN", "LSM_YAMA", "PROC_MEM_NO_FORCE", "SLAB_BUCKETS"},
	"kspp-kconfig-arm64.config": {"LSM_LANDLOCK", "LSM_LOCKDOWN", "LSM_YAMA", "PROC_MEM_NO_FORCE", "SLAB_BUCKETS"},
	"kspp-kconfig-i386.config":  {"LSM_LANDLOCK", "LSM_LOCKDOWN", "LSM_YAMA", "PROC_MEM_NO_FORCE", "SLAB_BUCKETS"},
	// The riscv fragment also predates KSPP's riscv KASLR and
	// DEFAULT_MMAP_MIN_ADDR recommendations (kernel-hardening-checker
	// fails it on both too).
	"kspp-kconfig-riscv.config":  {"DEFAULT_MMAP_MIN_ADDR", "LSM_LANDLOCK", "LSM_LOCKDOWN", "LSM_YAMA", "PROC_MEM_NO_FORCE", "RANDOMIZE_BASE", "SLAB_BUCKETS"},
	"kspp-kconfig-x86-64.config": {"LSM_LANDLOCK", "LSM_LOCKDOWN", "LSM_YAMA", "PROC_MEM_NO_FORCE", "SLAB_BUCKETS"},
}

var fragmentArch = map[string]string{
	"kspp-kconfig-arm.config":    "arm",
	"kspp-kconfig-arm64.config":  "arm64",
	"kspp-kconfig-i386.config":   "x86_32",
	"kspp-kconfig-riscv.config":  "riscv",
	"kspp-kconfig-x86-64.config": "x86_64",
}

func TestKSPPFragmentsPassKSPP(t *testing.T) {
	kspp := loadBuiltin(t, "kspp")
	for name, except := range ksppFragmentExceptions {
		t.Run(name, func(t *testing.T) {
			c := readConfig(t, filepath.Join("testdata/configs", name))
			if c.Arch != fragmentArch[name] {
				t.Fatalf("arch %q, want %q", c.Arch, fragmentArch[name])
			}
			rep := Evaluate(&Input{Config: c, ConfigPath: name}, kspp)
			var failed []string
			for _, r := range rep.Results {
				if r.Verdict == Fail {
					failed = append(failed, r.ID)
				}
			}
			slices.Sort(failed)
			if diff := cmp.Diff(except, failed); diff != "" {
				t.Errorf("failed rules (-want +got):\n%s", diff)
			}
			if rep.Summary.Pass < 80 {
				t.Errorf("only %d rules passed: %+v", rep.Summary.Pass, rep.Summary)
			}
		})
	}
}

// The x86-64 fragment with KSPP's own command line and sysctl files
// passes every command-line and sysctl rule, but the one that needs
// PROC_MEM_NO_FORCE (or proc_mem.force_override=never, newer than KSPP's
// command line file).
func TestKSPPCmdlineAndSysctl(t *testing.T) {
	c := readConfig(t, "testdata/configs/kspp-kconfig-x86-64.config")
	cl, err := ReadCmdlineFile("testdata/kspp-cmdline-x86-64.txt")
	if err != nil {
		t.Fatal(err)
	}
	sy, err := ReadSysctlFile("testdata/kspp-sysctl.txt")
	if err != nil {
		t.Fatal(err)
	}
	rep := Evaluate(&Input{Config: c, Cmdline: cl, Sysctl: sy, ConfigPath: "c"}, loadBuiltin(t, "kspp"))
	var cmdlineRules, sysctlRules int
	for _, r := range rep.Results {
		switch r.Kind {
		case "cmdline":
			cmdlineRules++
		case "sysctl":
			sysctlRules++
		}
		if r.Verdict == Fail && !slices.Contains(ksppFragmentExceptions["kspp-kconfig-x86-64.config"], r.ID) && r.ID != "cmdline:proc_mem.force_override" {
			t.Errorf("%s failed: expected %s, actual %s %s", r.ID, r.Expected, r.Actual, r.Note)
		}
		if r.Verdict == Skipped {
			t.Errorf("%s skipped with every input given: %s", r.ID, r.Note)
		}
	}
	if cmdlineRules < 30 || sysctlRules < 20 {
		t.Errorf("%d cmdline and %d sysctl rules", cmdlineRules, sysctlRules)
	}
	// Without the command line and sysctl files, their rules are skipped,
	// not failed.
	rep = Evaluate(&Input{Config: c, ConfigPath: "c"}, loadBuiltin(t, "kspp"))
	for _, r := range rep.Results {
		if r.Kind != "kconfig" && r.Verdict != Skipped && r.Verdict != NotApplicable {
			t.Errorf("%s: %s without its input", r.ID, r.Verdict)
		}
	}
}

// distributions are the corpus configurations built by distributions
// (the rest are defconfigs and KSPP fragments).
func distributions(t *testing.T) []string {
	var out []string
	for _, f := range corpus(t) {
		b := filepath.Base(f)
		if strings.Contains(b, "defconfig") || strings.HasPrefix(b, "kspp-") {
			continue
		}
		out = append(out, f)
	}
	return out
}

func TestDistributionsFailAnchorOnModules(t *testing.T) {
	anchor := loadBuiltin(t, "anchor")
	files := distributions(t)
	if len(files) != 34 {
		t.Fatalf("%d distribution configurations, want 34", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			rep := Evaluate(&Input{Config: readConfig(t, f), ConfigPath: f}, anchor)
			if !rep.Failed() {
				t.Fatal("anchor passed a distribution kernel")
			}
			if r := resultByID(t, rep, "anchor", "MODULES"); r.Verdict != Fail || r.Actual != "y" || r.Line == 0 {
				t.Errorf("MODULES: %+v", r)
			}
			// With modules on, module signing applies and is checked.
			if v := resultByID(t, rep, "anchor", "MODULE_SIG_FORCE").Verdict; v != Pass && v != Fail {
				t.Errorf("MODULE_SIG_FORCE: verdict %s with modules on", v)
			}
		})
	}
}

// The example hardened configuration of examples/anchor passes anchor
// and kspp, and its own gate profile.
func TestExampleHardenedConfig(t *testing.T) {
	path := "../../examples/anchor/kernel/hardened.config"
	c := readConfig(t, path)
	var l Loader
	gate, err := l.Load("../../examples/anchor/kernel/gate.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range [][]*Profile{loadBuiltin(t, "anchor", "kspp"), {gate}} {
		in := &Input{Config: c, ConfigPath: path}
		rep := Evaluate(in, ps)
		if rep.Failed() || rep.Summary.Pass < 100 || len(InputFindings(in)) > 0 {
			var buf bytes.Buffer
			rep.WriteTable(&buf)
			t.Errorf("the example hardened configuration fails (input findings %+v):\n%s", InputFindings(in), buf.String())
		}
	}
}

// configText builds a small complete configuration.
func configText(header string, lines ...string) string {
	return header + "\nCONFIG_LOCALVERSION=\"\"\n" + strings.Join(lines, "\n") + "\n"
}

// TestKSPPVerdicts holds the kspp profile to the verdicts kernel-
// hardening-checker got right where nixgate's first profile did not.
func TestKSPPVerdicts(t *testing.T) {
	kspp := loadBuiltin(t, "kspp")
	for _, tc := range []struct {
		name    string
		config  string
		sysctl  string
		rule    string
		verdict Verdict
		note    string
	}{
		{"COMPAT is checked on arm64", configText("# Linux/arm64 6.12.0 Kernel Configuration", "CONFIG_ARM64=y", "CONFIG_COMPAT=y"),
			"", "COMPAT", Fail, ""},
		{"SHADOW_CALL_STACK with GCC", configText("# Linux/arm64 6.12.0 Kernel Configuration", "CONFIG_ARM64=y", "CONFIG_CC_IS_GCC=y", "# CONFIG_SHADOW_CALL_STACK is not set"),
			"", "SHADOW_CALL_STACK", Fail, ""},
		{"LDISC_AUTOLOAD absent before 5.1 is always on", configText("# Linux/x86_64 4.19.0 Kernel Configuration", "CONFIG_X86_64=y"),
			"", "LDISC_AUTOLOAD", Fail, ""},
		{"LDISC_AUTOLOAD explicitly off", configText("# Linux/x86_64 6.12.0 Kernel Configuration", "CONFIG_X86_64=y", "# CONFIG_LDISC_AUTOLOAD is not set"),
			"", "LDISC_AUTOLOAD", Pass, ""},
		{"4.9 DEBUG_RODATA", configText("# Linux/arm64 4.9.165 Kernel Configuration", "CONFIG_ARM64=y", "CONFIG_DEBUG_RODATA=y"),
			"", "STRICT_KERNEL_RWX", Pass, ""},
		{"4.9 DEBUG_SET_MODULE_RONX", configText("# Linux/arm64 4.9.165 Kernel Configuration", "CONFIG_ARM64=y", "CONFIG_MODULES=y", "CONFIG_DEBUG_SET_MODULE_RONX=y"),
			"", "STRICT_MODULE_RWX", Pass, ""},
		{"HARDENED_USERCOPY without DEFAULT_ON on 6.18", configText("# Linux/x86_64 6.18.0 Kernel Configuration", "CONFIG_X86_64=y", "CONFIG_HARDENED_USERCOPY=y", "# CONFIG_HARDENED_USERCOPY_DEFAULT_ON is not set"),
			"", "HARDENED_USERCOPY_DEFAULT_ON", Fail, ""},
		{"no bpf() needs no unprivileged_bpf_disabled", configText("# Linux/x86_64 6.12.0 Kernel Configuration", "CONFIG_X86_64=y", "# CONFIG_BPF_SYSCALL is not set"),
			"kernel.unprivileged_bpf_disabled = 0\n", "sysctl:kernel.unprivileged_bpf_disabled", Pass, ""},
		{"with bpf() it needs 1, not 2", configText("# Linux/x86_64 6.12.0 Kernel Configuration", "CONFIG_X86_64=y", "CONFIG_BPF_SYSCALL=y"),
			"kernel.unprivileged_bpf_disabled = 2\n", "sysctl:kernel.unprivileged_bpf_disabled", Fail, ""},
		{"an option newer than a 4.19 kernel fails", configText("# Linux/x86_64 4.19.0 Kernel Configuration", "CONFIG_X86_64=y"),
			"", "SLAB_BUCKETS", Fail, "Linux 4.19 is older than the profile's minimum 6.12, and the option exists since 6.11"},
		{"an option newer than a 6.12 kernel is n/a", configText("# Linux/x86_64 6.12.0 Kernel Configuration", "CONFIG_X86_64=y"),
			"", "HARDENED_USERCOPY_DEFAULT_ON", NotApplicable, "the option exists since Linux 6.18"},
		{"an edited header does not switch rules off", configText("# Linux/x86_64 6.6.0 Kernel Configuration", "CONFIG_X86_64=y", "CONFIG_KSTACK_ERASE=y"),
			"", "SLAB_BUCKETS", Fail, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tc.config))
			if err != nil {
				t.Fatal(err)
			}
			in := &Input{Config: cfg, ConfigPath: "c"}
			if tc.sysctl != "" {
				if in.Sysctl, err = ParseSysctl([]byte(tc.sysctl)); err != nil {
					t.Fatal(err)
				}
			}
			r := resultByID(t, Evaluate(in, kspp), "kspp", tc.rule)
			if r.Verdict != tc.verdict || r.Note != tc.note {
				t.Errorf("%s: %s (%s), want %s (%s); found %s", tc.rule, r.Verdict, r.Note, tc.verdict, tc.note, r.Actual)
			}
		})
	}
}

// TestOldKernelsFailNewOptions counts the corpus verdicts that the
// profiles' minimum version turns from n/a into failures: rules on options
// that a kernel older than the newest LTS lacks.
func TestOldKernelsFailNewOptions(t *testing.T) {
	profiles := loadBuiltin(t, "anchor", "kspp")
	n := 0
	for _, f := range corpus(t) {
		rep := Evaluate(&Input{Config: readConfig(t, f), ConfigPath: f}, profiles)
		for _, r := range rep.Results {
			if r.Verdict == Fail && strings.Contains(r.Note, "older than the profile's minimum") {
				n++
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d failures from the minimum version across the corpus", n)
	}
	t.Logf("%d rule verdicts on old kernels of the corpus fail by the minimum version instead of n/a", n)
}

// TestAnchorCommandLine: the command line can undo the anchor gate's
// kconfig rules, and the gate catches each way.
func TestAnchorCommandLine(t *testing.T) {
	anchor := loadBuiltin(t, "anchor")
	cfg := readConfig(t, "../../examples/anchor/kernel/hardened.config")
	base := "init=/sbin/anchor-init quiet"
	for _, tc := range []struct {
		name, cmdline, sysctl, rule string
		verdict                     Verdict
	}{
		{"clean", base, "", "cmdline:init_on_alloc", Pass},
		{"nokaslr", base + " nokaslr", "", "cmdline:nokaslr", Fail},
		{"init_on_alloc=0", base + " init_on_alloc=0", "", "cmdline:init_on_alloc", Fail},
		{"init_on_alloc=off", base + " init_on_alloc=off", "", "cmdline:init_on_alloc", Fail},
		{"init_on_alloc off then on", base + " init_on_alloc=0 init_on_alloc=1", "", "cmdline:init_on_alloc", Pass},
		{"hardened_usercopy=0", base + " hardened_usercopy=0", "", "cmdline:hardened_usercopy", Fail},
		{"hardened_usercopy=n", base + ` "hardened_usercopy=n"`, "", "cmdline:hardened_usercopy", Fail},
		{"lsm= without lockdown", base + " lsm=landlock,yama,selinux", "", "cmdline:lsm", Fail},
		{"lsm= with lockdown", base + " lsm=landlock,lockdown,yama", "", "cmdline:lsm", Pass},
		{"module.sig_enforce=0", base + " module.sig_enforce=0", "", "cmdline:module.sig_enforce", Fail},
		{"module-sig_enforce=0 (dashes)", base + " module.sig-enforce=0", "", "cmdline:module.sig_enforce", Fail},
		{"lockdown=integrity", base + " lockdown=integrity", "", "cmdline:lockdown", Fail},
		{"lockdown cannot be lowered", base + " lockdown=confidentiality lockdown=integrity", "", "cmdline:lockdown", Pass},
		{"no init=", "quiet", "", "cmdline:init", Fail},
		{"init= after -- is for init", "quiet -- init=/x", "", "cmdline:init", Fail},
		{"unprivileged bpf switched back on", base, "kernel.unprivileged_bpf_disabled = 0\n", "sysctl:kernel.unprivileged_bpf_disabled", Fail},
		{"unprivileged bpf off for good", base, "kernel.unprivileged_bpf_disabled = 1\n", "sysctl:kernel.unprivileged_bpf_disabled", Pass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := ParseCmdline([]byte(tc.cmdline))
			if err != nil {
				t.Fatal(err)
			}
			in := &Input{Config: cfg, Cmdline: cl, ConfigPath: "c", CmdlinePath: "cmdline"}
			if tc.sysctl != "" {
				in.Sysctl, _ = ParseSysctl([]byte(tc.sysctl))
			}
			if r := resultByID(t, Evaluate(in, anchor), "anchor", tc.rule); r.Verdict != tc.verdict {
				t.Errorf("%s: %s (found %s, %s), want %s", tc.rule, r.Verdict, r.Actual, r.Note, tc.verdict)
			}
		})
	}
	// With bpf() built, the sysctl must pin unprivileged bpf off for good.
	c2, _ := ParseConfig([]byte(configText("# Linux/x86_64 6.12.0 Kernel Configuration", "CONFIG_X86_64=y", "CONFIG_BPF_SYSCALL=y", "CONFIG_BPF_UNPRIV_DEFAULT_OFF=y")))
	sy, _ := ParseSysctl([]byte("kernel.unprivileged_bpf_disabled = 0\n"))
	if r := resultByID(t, Evaluate(&Input{Config: c2, Sysctl: sy}, anchor), "anchor", "sysctl:kernel.unprivileged_bpf_disabled"); r.Verdict != Fail {
		t.Errorf("unprivileged_bpf_disabled = 0 with bpf(): %s", r.Verdict)
	}
	// The required init path comes from the policy (see checks) or an
	// override: a different init fails.
	p, err := anchor[0].WithExpected("cmdline:init", "/sbin/anchor-init")
	if err != nil {
		t.Fatal(err)
	}
	for cmd, want := range map[string]Verdict{"init=/sbin/anchor-init": Pass, "init=/bin/sh": Fail} {
		cl, _ := ParseCmdline([]byte(cmd))
		if r := resultByID(t, Evaluate(&Input{Config: cfg, Cmdline: cl}, []*Profile{p}), "anchor", "cmdline:init"); r.Verdict != want {
			t.Errorf("%s: %s, want %s", cmd, r.Verdict, want)
		}
	}
	if _, err := anchor[0].WithExpected("NOPE", "x"); err == nil {
		t.Error("WithExpected of an unknown rule")
	}
}

// Golden outputs of the per-rule report: a distribution kernel, the
// nixpkgs hardened kernel and a KSPP fragment with its command line and
// sysctl files, as the text table, Markdown and JSON.
func TestGolden(t *testing.T) {
	type input struct{ config, cmdline, sysctl string }
	cases := map[string]struct {
		in       input
		profiles []string
	}{
		"debian13-anchor":     {input{config: "testdata/configs/Debian_13_Trixie_x86_64.config.gz"}, []string{"anchor"}},
		"nixpkgs-hardened":    {input{config: "testdata/configs/nixpkgs-linux_hardened.config.gz"}, []string{"anchor", "kspp"}},
		"kspp-x86-64-all":     {input{"testdata/configs/kspp-kconfig-x86-64.config", "testdata/kspp-cmdline-x86-64.txt", "testdata/kspp-sysctl.txt"}, []string{"kspp"}},
		"arm64-example-input": {input{"testdata/configs/Android_15_6.6_aarch64.config.gz", "testdata/cmdline_example.txt", "testdata/example_sysctls.txt"}, []string{"anchor", "khc"}},
	}
	for name, tc := range cases {
		in := &Input{Config: readConfig(t, tc.in.config), ConfigPath: tc.in.config, CmdlinePath: tc.in.cmdline, SysctlPath: tc.in.sysctl}
		var err error
		if tc.in.cmdline != "" {
			if in.Cmdline, err = ReadCmdlineFile(tc.in.cmdline); err != nil {
				t.Fatal(err)
			}
		}
		if tc.in.sysctl != "" {
			if in.Sysctl, err = ReadSysctlFile(tc.in.sysctl); err != nil {
				t.Fatal(err)
			}
		}
		rep := Evaluate(in, loadBuiltin(t, tc.profiles...))
		for _, format := range []string{"text", "markdown", "json"} {
			t.Run(name+"/"+format, func(t *testing.T) {
				var buf bytes.Buffer
				switch format {
				case "text":
					err = rep.WriteTable(&buf)
				case "markdown":
					err = rep.WriteMarkdown(&buf)
				default:
					enc := json.NewEncoder(&buf)
					enc.SetIndent("", "  ")
					err = enc.Encode(rep)
				}
				if err != nil {
					t.Fatal(err)
				}
				if format == "text" {
					for i, l := range strings.Split(buf.String(), "\n") {
						if n := len([]rune(l)); n > 100 {
							t.Errorf("line %d is %d columns wide: %q", i+1, n, l)
						}
					}
				}
				ext := map[string]string{"text": ".txt", "json": ".json", "markdown": ".md"}[format]
				golden := filepath.Join("testdata/golden", name+ext)
				if *update {
					os.MkdirAll(filepath.Dir(golden), 0o755)
					if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update)", err)
				}
				if diff := cmp.Diff(string(want), buf.String()); diff != "" {
					t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", golden, diff)
				}
			})
		}
	}
}
