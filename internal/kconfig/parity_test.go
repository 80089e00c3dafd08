package kconfig

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// khcEntry is one check of kernel-hardening-checker's `-m json` output.
type khcEntry struct {
	Option   string `json:"option_name"`
	Type     string `json:"type"`
	Reason   string `json:"reason"`
	Decision string `json:"decision"`
	Desired  string `json:"desired_val"`
	Result   string `json:"check_result"`
	OK       bool   `json:"check_result_bool"`
}

func readKHC(t testing.TB, file string) []khcEntry {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(file, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	var out []khcEntry
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return out
}

// khcException is one reviewed difference from khc's verdict, kept in
// testdata/khc/exceptions.toml with the reason nixgate's verdict is the
// right one (docs/kconfig.md lists them).
type khcException struct {
	Config  string `toml:"config"`  // glob of corpus file names
	Option  string `toml:"option"`  // khc's option_name
	Desired string `toml:"desired"` // khc's desired_val; "" for any
	Nixgate string `toml:"nixgate"` // nixgate's verdict: "pass" or "fail"
	Reason  string `toml:"reason"`
}

func readExceptions(t testing.TB) []khcException {
	t.Helper()
	data, err := os.ReadFile("testdata/khc/exceptions.toml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Exception []khcException `toml:"exception"`
	}
	d := toml.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		t.Fatal(err)
	}
	for _, e := range f.Exception {
		if e.Config == "" || e.Option == "" || (e.Nixgate != "pass" && e.Nixgate != "fail") || len(e.Reason) < 40 {
			t.Fatalf("exception %+v: want config, option, nixgate = pass|fail and a reason of substance", e)
		}
	}
	return f.Exception
}

// subjectKey names a rule the way khc names a check: type, the first
// option and its expected value, in khc's spelling.
func subjectKey(r *Rule) string {
	name, want := r.Subject()
	kind := r.Kind()
	switch {
	case strings.HasPrefix(want, "= CONFIG_"):
		want = "MAX"
	case strings.HasPrefix(want, "contains "):
		want = "*" + strings.TrimPrefix(want, "contains ") + "*"
	case r.test.first().op == opTrue:
		want = "1"
	case r.test.first().op == opFalse:
		want = "0"
	}
	return kind + "|" + name + "|" + want
}

func khcKey(e khcEntry, refined map[string]bool) string {
	want := e.Desired
	if refined[e.Option] {
		want = "MAX"
	}
	return e.Type + "|" + e.Option + "|" + want
}

// The options khc compares with another option's value (its "MAX").
var khcRefined = map[string]bool{
	"CONFIG_ARCH_MMAP_RND_BITS": true, "CONFIG_ARCH_MMAP_RND_COMPAT_BITS": true,
	"vm.mmap_rnd_bits": true, "vm.mmap_rnd_compat_bits": true,
}

// subProfileDecisions maps each khc sub-profile to khc's "decision"
// values its rules carry, and categories to khc's "reason" values.
var (
	subProfileDecisions = map[string][]string{
		"khc-defconfig": {"defconfig"}, "khc-kspp": {"kspp"}, "khc-author": {"a13xp0p0v"},
		"khc-grsecurity": {"grsec"}, "khc-clipos": {"clipos", "grapheneos"},
		"khc-lockdown": {"lockdown", "maintainer"}, "khc-network": {"cis", "ubuntu"},
	}
	categoryReason = map[string]string{
		"self-protection": "self_protection", "security-policy": "security_policy",
		"attack-surface": "cut_attack_surface", "userspace": "harden_userspace", "network": "network_security",
	}
)

type parityCase struct {
	name    string // corpus file name without .json
	config  string
	cmdline string
	sysctl  string
	khc     string
}

// parityCases are the corpus configurations with khc's own verdicts
// (testdata/khc/expected, from ../shared/corpus/kconfig/khc-expected),
// plus the runs with a command line and sysctls recorded by
// bench/kconfig-khc-record.sh --record (testdata/khc/full).
func parityCases(t testing.TB) []parityCase {
	t.Helper()
	exp, err := filepath.Glob("testdata/khc/expected/*.json.gz")
	if err != nil || len(exp) == 0 {
		t.Fatalf("no khc verdicts in testdata/khc/expected: %v", err)
	}
	var cases []parityCase
	for _, e := range exp {
		name := strings.TrimSuffix(filepath.Base(e), ".json.gz")
		cfg := "testdata/configs/" + name + ".config"
		switch {
		case name == "example_config":
			cfg = "testdata/configs/example_config.gz"
		case fileExists(cfg + ".gz"):
			cfg += ".gz"
		}
		cases = append(cases, parityCase{name: name, config: cfg, khc: e})
	}
	full, _ := filepath.Glob("testdata/khc/full/*.json.gz")
	for _, f := range full {
		// NAME.json.gz with NAME.args: config, cmdline and sysctl paths.
		args, err := os.ReadFile(strings.TrimSuffix(f, ".json.gz") + ".args")
		if err != nil {
			t.Fatal(err)
		}
		a := strings.Fields(string(args))
		if len(a) != 3 {
			t.Fatalf("%s.args: want CONFIG CMDLINE SYSCTL", f)
		}
		cases = append(cases, parityCase{name: "full/" + strings.TrimSuffix(filepath.Base(f), ".json.gz"),
			config: a[0], cmdline: a[1], sysctl: a[2], khc: f})
	}
	return cases
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// parity is the outcome of comparing one run.
type parity struct {
	compared, agree, excepted int
	diffs                     []string
}

func runParity(t *testing.T, pc parityCase, khcProfile *Profile, exceptions []khcException, used map[int]bool) parity {
	t.Helper()
	cfg, err := ReadConfigFile(pc.config)
	if err != nil {
		t.Fatal(err)
	}
	in := &Input{Config: cfg, ConfigPath: pc.config}
	if pc.cmdline != "" {
		if in.Cmdline, err = ReadCmdlineFile(pc.cmdline); err != nil {
			t.Fatal(err)
		}
	}
	if pc.sysctl != "" {
		if in.Sysctl, err = ReadSysctlFile(pc.sysctl); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	rep := Evaluate(in, []*Profile{khcProfile})
	ours := map[string]int{}
	for i, r := range khcProfile.Rules {
		v := rep.Results[i].Verdict
		if v == NotApplicable || v == Skipped {
			continue
		}
		k := subjectKey(r)
		if j, dup := ours[k]; dup {
			t.Fatalf("rules %s and %s both check %s on %s", khcProfile.Rules[j].ID, r.ID, k, in.EffectiveArch())
		}
		ours[k] = i
	}
	var p parity
	seen := map[string]bool{}
	for _, e := range readKHC(t, pc.khc) {
		k := khcKey(e, khcRefined)
		i, ok := ours[k]
		if !ok {
			p.diffs = append(p.diffs, fmt.Sprintf("%s: khc checks %s (%s), nixgate has no applicable rule", pc.name, k, e.Result))
			continue
		}
		seen[k] = true
		r, res := khcProfile.Rules[i], rep.Results[i]
		if want := subProfileDecisions[r.Profile]; !containsStr(want, e.Decision) {
			p.diffs = append(p.diffs, fmt.Sprintf("%s: %s: khc's decision %q, nixgate's rule is in %s", pc.name, k, e.Decision, r.Profile))
		}
		if categoryReason[r.Category] != e.Reason {
			p.diffs = append(p.diffs, fmt.Sprintf("%s: %s: khc's reason %q, nixgate's category %q", pc.name, k, e.Reason, r.Category))
		}
		p.compared++
		got := res.Verdict == Pass
		if got == e.OK {
			p.agree++
			continue
		}
		excepted := false
		for j, x := range exceptions {
			m, _ := path.Match(x.Config, pc.name)
			if m && x.Option == e.Option && (x.Desired == "" || x.Desired == e.Desired) && (x.Nixgate == "pass") == got {
				excepted, used[j] = true, true
				break
			}
		}
		if excepted {
			p.excepted++
			continue
		}
		p.diffs = append(p.diffs, fmt.Sprintf("%s: %s: khc %q, nixgate %s (found %s; %s)", pc.name, k, e.Result, res.Verdict, res.Actual, res.Note))
	}
	for k, i := range ours {
		r := khcProfile.Rules[i]
		if seen[k] {
			continue
		}
		name, _ := r.Subject()
		if khcRefined[name] && rep.Results[i].Verdict == Pass {
			continue // khc drops the comparison when the config has no _MAX
		}
		if (pc.cmdline == "" && r.Kind() == "cmdline") || (pc.sysctl == "" && r.Kind() == "sysctl") {
			continue
		}
		p.diffs = append(p.diffs, fmt.Sprintf("%s: nixgate's rule %s (%s) is not a khc check", pc.name, r.ID, k))
	}
	return p
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestKHCParity runs the khc profile on every corpus configuration and
// requires each option's verdict to equal kernel-hardening-checker
// 0.6.17.1's own, except for the reviewed exceptions; it also requires the
// profile to check exactly what khc checks, no more and no less.
func TestKHCParity(t *testing.T) {
	khcProfile := loadBuiltin(t, "khc")[0]
	exceptions := readExceptions(t)
	used := map[int]bool{}
	var total parity
	for _, pc := range parityCases(t) {
		t.Run(pc.name, func(t *testing.T) {
			p := runParity(t, pc, khcProfile, exceptions, used)
			for _, d := range p.diffs {
				t.Error(d)
			}
			total.compared += p.compared
			total.agree += p.agree
			total.excepted += p.excepted
		})
	}
	for j, x := range exceptions {
		if !used[j] {
			t.Errorf("exception %s %s (%s) matched nothing: remove it", x.Config, x.Option, x.Desired)
		}
	}
	t.Logf("khc parity: %d options compared, %d agree (%.2f%%), %d reviewed exceptions",
		total.compared, total.agree, 100*float64(total.agree)/float64(max(1, total.compared)), total.excepted)
}

// TestKHCCoverage requires the khc profile to have a rule for every check
// khc 0.6.17.1 runs on each architecture (khc's `-p ARCH -m json`,
// recorded in testdata/khc/print), and no other.
func TestKHCCoverage(t *testing.T) {
	khcProfile := loadBuiltin(t, "khc")[0]
	for _, arch := range Arches {
		t.Run(arch, func(t *testing.T) {
			entries := readKHC(t, "testdata/khc/print/"+arch+".json.gz")
			cfg, err := ParseConfig([]byte("CONFIG_" + map[string]string{"x86_64": "X86_64", "x86_32": "X86_32", "arm64": "ARM64", "arm": "ARM", "riscv": "RISCV"}[arch] + "=y\n"))
			if err != nil {
				t.Fatal(err)
			}
			in := &Input{Config: cfg, Cmdline: &Cmdline{Params: map[string]Param{}}, Sysctl: &Sysctl{Values: map[string]SysctlValue{}}}
			rep := Evaluate(in, []*Profile{khcProfile})
			ours := map[string]bool{}
			byKind := map[string]int{}
			for i, r := range khcProfile.Rules {
				if rep.Results[i].Verdict == NotApplicable && strings.HasPrefix(rep.Results[i].Note, "applies only when arch") {
					continue
				}
				ours[subjectKey(r)] = true
			}
			want := map[string]bool{}
			for _, e := range entries {
				k := khcKey(e, khcRefined)
				want[k] = true
				byKind[e.Type]++
				if !ours[k] {
					t.Errorf("khc checks %s on %s; the khc profile has no rule for it", k, arch)
				}
			}
			var extra []string
			for k := range ours {
				if !want[k] {
					extra = append(extra, k)
				}
			}
			sort.Strings(extra)
			for _, k := range extra {
				t.Errorf("the khc profile checks %s on %s; khc does not", k, arch)
			}
			t.Logf("%s: khc runs %d kconfig, %d cmdline, %d sysctl checks; the khc profile covers %d of %d", arch,
				byKind["kconfig"], byKind["cmdline"], byKind["sysctl"], len(entries)-countMissing(want, ours), len(entries))
		})
	}
}

func countMissing(want, have map[string]bool) int {
	n := 0
	for k := range want {
		if !have[k] {
			n++
		}
	}
	return n
}

// ksppOwnChoices are the checks kernel-hardening-checker attributes to
// KSPP that the kspp profile states differently, and why; docs/kconfig.md
// lists them too.
var ksppOwnChoices = map[string]string{
	// khc's CFI_AUTO_DEFAULT check is its derivation of KSPP's cfi=kcfi;
	// kspp checks cfi=kcfi on the command line (cmdline:cfi).
	"x86_64|CONFIG_CFI_AUTO_DEFAULT": "checked as cmdline:cfi",
	// 32-bit arm has no kernel stack erasing (arch/arm selects no
	// HAVE_ARCH_KSTACK_ERASE): khc fails every arm kernel on it.
	"arm|CONFIG_KSTACK_ERASE": "not available on arm",
}

// TestKSPPCoversKHCKSPP requires the kspp profile to check every option
// kernel-hardening-checker attributes to KSPP, on each architecture,
// except the reviewed choices above.
func TestKSPPCoversKHCKSPP(t *testing.T) {
	kspp := loadBuiltin(t, "kspp")[0]
	used := map[string]bool{}
	for _, arch := range Arches {
		entries := readKHC(t, "testdata/khc/print/"+arch+".json.gz")
		names := map[string]bool{}
		for _, r := range kspp.Rules {
			if archExcludes(r.when, arch) {
				continue
			}
			var walk func(n *node)
			walk = func(n *node) {
				if n.typ == nLeaf {
					nm := n.name
					if n.kind == kindKconfig {
						nm = "CONFIG_" + nm
					}
					names[nm] = true
				}
				for _, k := range n.kids {
					walk(k)
				}
			}
			walk(r.test)
		}
		for _, e := range entries {
			if e.Decision != "kspp" || names[e.Option] {
				continue
			}
			if _, ok := ksppOwnChoices[arch+"|"+e.Option]; !ok {
				t.Errorf("%s: kernel-hardening-checker checks KSPP's %s %s %s; the kspp profile does not", arch, e.Type, e.Option, e.Desired)
			}
			used[arch+"|"+e.Option] = true
		}
	}
	for k := range ksppOwnChoices {
		if !used[k] {
			t.Errorf("ksppOwnChoices[%q] is not needed: remove it", k)
		}
	}
}

// archExcludes reports whether a rule's when condition rules arch out:
// an arch test, alone or inside all = [...], that does not list it.
func archExcludes(n *node, arch string) bool {
	switch {
	case n == nil:
		return false
	case n.typ == nArch:
		return !containsStr(n.list, arch)
	case n.typ == nAll:
		for _, k := range n.kids {
			if archExcludes(k, arch) {
				return true
			}
		}
	}
	return false
}
