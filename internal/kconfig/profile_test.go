package kconfig

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func loadBuiltin(t testing.TB, names ...string) []*Profile {
	t.Helper()
	var out []*Profile
	for _, n := range names {
		var l Loader
		p, err := l.Load(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// The KSPP fragments are the recommendations themselves, so each passes
// the kspp profile for its architecture, except for the rules below: they
// need an option the fragment does not set. Each fragment recommends
// enabling Yama and Landlock but leaves the ordered LSM list (CONFIG_LSM)
// to the rest of the configuration.
var ksppFragmentExceptions = map[string][]string{
	"kspp-kconfig-arm.config":    {"LSM_LANDLOCK", "LSM_YAMA"},
	"kspp-kconfig-arm64.config":  {"LSM_LANDLOCK", "LSM_YAMA"},
	"kspp-kconfig-i386.config":   {"LSM_LANDLOCK", "LSM_YAMA"},
	"kspp-kconfig-riscv.config":  {"LSM_LANDLOCK", "LSM_YAMA"},
	"kspp-kconfig-x86-64.config": {"LSM_LANDLOCK", "LSM_YAMA"},
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
			c, err := ReadFile(filepath.Join("testdata/configs", name))
			if err != nil {
				t.Fatal(err)
			}
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
// passes every command-line and sysctl rule.
func TestKSPPCmdlineAndSysctl(t *testing.T) {
	c, err := ReadFile("testdata/configs/kspp-kconfig-x86-64.config")
	if err != nil {
		t.Fatal(err)
	}
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
		if strings.HasPrefix(r.ID, "cmdline:") {
			cmdlineRules++
		}
		if strings.HasPrefix(r.ID, "sysctl:") {
			sysctlRules++
		}
		if r.Verdict == Fail && !slices.Contains(ksppFragmentExceptions["kspp-kconfig-x86-64.config"], r.ID) {
			t.Errorf("%s failed: expected %s, actual %s %s", r.ID, r.Expected, r.Actual, r.Note)
		}
		if r.Verdict == Skipped {
			t.Errorf("%s skipped with every input given: %s", r.ID, r.Note)
		}
	}
	if cmdlineRules < 15 || sysctlRules < 15 {
		t.Errorf("%d cmdline and %d sysctl rules", cmdlineRules, sysctlRules)
	}
	// Without the command line and sysctl files, their rules are skipped,
	// not failed.
	rep = Evaluate(&Input{Config: c, ConfigPath: "c"}, loadBuiltin(t, "kspp"))
	if rep.Summary.Skipped != cmdlineRules+sysctlRules-3 { // three sysctl rules are n/a (MODULES, KEXEC_CORE, BPF_JIT not set)
		t.Errorf("skipped %d, want %d", rep.Summary.Skipped, cmdlineRules+sysctlRules-3)
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
			c, err := ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rep := Evaluate(&Input{Config: c, ConfigPath: f}, anchor)
			if !rep.Failed() {
				t.Fatal("anchor passed a distribution kernel")
			}
			i := slices.IndexFunc(rep.Results, func(r Result) bool { return r.ID == "MODULES" })
			if r := rep.Results[i]; r.Verdict != Fail || r.Actual != "y" || r.Line == 0 {
				t.Errorf("MODULES: %+v", r)
			}
			// With modules on, module signing applies and is checked.
			i = slices.IndexFunc(rep.Results, func(r Result) bool { return r.ID == "MODULE_SIG_FORCE" })
			if v := rep.Results[i].Verdict; v != Pass && v != Fail {
				t.Errorf("MODULE_SIG_FORCE: verdict %s with modules on", v)
			}
		})
	}
}

// The example hardened configuration of examples/anchor passes anchor
// and kspp.
func TestExampleHardenedConfig(t *testing.T) {
	path := "../../examples/anchor/kernel/hardened.config"
	if _, err := os.Stat(path); err != nil {
		t.Skip("examples/anchor/kernel/hardened.config not present")
	}
	c, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var l Loader
	gate, err := l.Load("../../examples/anchor/kernel/gate.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range [][]*Profile{loadBuiltin(t, "anchor", "kspp"), {gate}} {
		rep := Evaluate(&Input{Config: c, ConfigPath: path}, ps)
		if rep.Failed() || rep.Summary.Pass < 100 {
			var buf bytes.Buffer
			rep.Write(&buf, "text")
			t.Errorf("the example hardened configuration fails:\n%s", buf.String())
		}
	}
}

// Golden outputs: a distribution kernel, the nixpkgs hardened kernel and
// a KSPP fragment with its command line and sysctl files, in every format.
func TestGolden(t *testing.T) {
	type input struct{ config, cmdline, sysctl string }
	cases := map[string]struct {
		in       input
		profiles []string
	}{
		"debian13-anchor":     {input{config: "testdata/configs/Debian_13_Trixie_x86_64.config.gz"}, []string{"anchor"}},
		"nixpkgs-hardened":    {input{config: "testdata/configs/nixpkgs-linux_hardened.config.gz"}, []string{"anchor", "kspp"}},
		"kspp-x86-64-all":     {input{"testdata/configs/kspp-kconfig-x86-64.config", "testdata/kspp-cmdline-x86-64.txt", "testdata/kspp-sysctl.txt"}, []string{"kspp"}},
		"arm64-example-input": {input{"testdata/configs/Android_15_6.6_aarch64.config.gz", "testdata/cmdline_example.txt", "testdata/example_sysctls.txt"}, []string{"anchor"}},
	}
	for name, tc := range cases {
		c, err := ReadFile(tc.in.config)
		if err != nil {
			t.Fatal(err)
		}
		in := &Input{Config: c, ConfigPath: tc.in.config, CmdlinePath: tc.in.cmdline, SysctlPath: tc.in.sysctl}
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
		for _, format := range Formats {
			t.Run(name+"/"+format, func(t *testing.T) {
				var buf bytes.Buffer
				if err := rep.Write(&buf, format); err != nil {
					t.Fatal(err)
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
