package checks

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/kconfig"
	"github.com/nixgate/nixgate/internal/repo"
)

const kconfigHardened = "../../examples/anchor/kernel/hardened.config"

func kconfigSubject(t *testing.T, config, cmdline, sysctl string) *kconfig.Subject {
	t.Helper()
	cfg, err := kconfig.ReadConfigFile(config)
	if err != nil {
		t.Fatal(err)
	}
	in := &kconfig.Input{Config: cfg, ConfigPath: config}
	if cmdline != "" {
		if in.Cmdline, err = kconfig.ParseCmdline([]byte(cmdline)); err != nil {
			t.Fatal(err)
		}
		in.CmdlinePath = "cmdline"
	}
	if sysctl != "" {
		if in.Sysctl, err = kconfig.ParseSysctl([]byte(sysctl)); err != nil {
			t.Fatal(err)
		}
		in.SysctlPath = "sysctl.conf"
	}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	return kconfig.NewSubject(in)
}

func messages(res *check.Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, f.Severity.String()+" "+f.Message+" ["+f.CheckID+"]")
	}
	return out
}

// TestKconfigScope runs the kconfig checks the way nixgate kconfig does:
// through check.Run on a Subject, with settings from a policy.
func TestKconfigScope(t *testing.T) {
	scope := InScope(check.ScopeKconfig)
	var ids []string
	for _, c := range scope {
		ids = append(ids, c.ID)
	}
	if want := []string{"kconfig-anchor", "kconfig-input", "kconfig-khc", "kconfig-kspp", "kconfig-profile"}; !slices.Equal(ids, want) {
		t.Fatalf("kconfig scope: %v, want %v", ids, want)
	}
	ctx := context.Background()

	// The example kernel passes anchor with a clean command line; the
	// defaults run anchor and the input check only.
	sub := kconfigSubject(t, kconfigHardened, "init=/sbin/anchor-init quiet", "")
	res := check.Run(ctx, scope, nil, check.Target{Input: sub}, nil)
	if len(res.Findings) > 0 || len(res.Errors) > 0 || len(res.Checks) != 2 {
		t.Fatalf("hardened kernel: %v %v, %d checks", messages(res), res.Errors, len(res.Checks))
	}
	if reps := sub.Reports(); len(reps) != 1 || reps[0].Check != "kconfig-anchor" || reps[0].Summary.Pass < 20 {
		t.Errorf("reports: %+v", reps)
	}

	// A command line that undoes the configuration fails the gate, at
	// the parameter's position; the policy's init option is enforced; a
	// policy severity override shifts the findings.
	sub = kconfigSubject(t, kconfigHardened, "init=/bin/sh nokaslr hardened_usercopy=0", "")
	settings := map[string]check.Settings{
		KconfigAnchor.ID: {Enabled: true, Severity: check.Critical, Options: &KconfigAnchorOptions{Init: "/sbin/anchor-init"}},
		KconfigInput.ID:  {Enabled: true, Severity: check.High},
	}
	res = check.Run(ctx, scope, settings, check.Target{Input: sub}, nil)
	got := messages(res)
	for _, want := range []string{
		"critical cmdline:init: found /bin/sh, want /sbin/anchor-init [kconfig-anchor]",
		"critical cmdline:nokaslr: found present, want is not set [kconfig-anchor]",
		"critical cmdline:hardened_usercopy: found 0, want on … [kconfig-anchor]",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %q in %q", want, got)
		}
	}
	for _, f := range res.Findings {
		if f.Location.Path != "cmdline" || f.Location.Line != 1 || f.Location.Column == 0 || f.Fingerprint == "" {
			t.Errorf("finding not located at its parameter: %+v", f)
		}
	}

	// kspp and khc run when enabled; khc runs the parts its options name.
	sub = kconfigSubject(t, kconfigHardened, "", "")
	settings = map[string]check.Settings{
		KconfigKSPP.ID: {Enabled: true, Severity: check.High, Options: &KconfigKSPPOptions{}},
		KconfigKHC.ID:  {Enabled: true, Severity: check.High, Options: &KconfigKHCOptions{Profiles: []string{"khc-grsecurity", "khc-lockdown"}}},
	}
	res = check.Run(ctx, scope, settings, check.Target{Input: sub}, nil)
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	reps := sub.Reports()
	if len(reps) != 3 || reps[1].Check != "kconfig-khc" || !slices.Equal(reps[1].Profiles, []string{"khc-grsecurity", "khc-lockdown"}) {
		t.Errorf("reports: %+v", reps)
	}
	for _, f := range res.Findings {
		if f.CheckID == "kconfig-kspp" {
			t.Errorf("the example kernel fails kspp: %s", f.Message)
		}
	}
	settings[KconfigKHC.ID] = check.Settings{Enabled: true, Severity: check.High, Options: &KconfigKHCOptions{Profiles: []string{"anchor"}}}
	res = check.Run(ctx, []*check.Check{KconfigKHC}, settings, check.Target{Input: sub}, nil)
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error, `"anchor" is not khc or one of its parts`) {
		t.Errorf("errors: %+v", res.Errors)
	}

	// The input check: a repeated sysctl key that a rule reads, with
	// different values.
	sub = kconfigSubject(t, kconfigHardened, "", "kernel.kptr_restrict = 2\nkernel.kptr_restrict = 0\n")
	res = check.Run(ctx, []*check.Check{KconfigInput}, nil, check.Target{Input: sub}, nil)
	if got := messages(res); len(got) != 1 || !strings.Contains(got[0], "sysctl kernel.kptr_restrict set 2 times; the last, 0, wins") {
		t.Errorf("input findings: %q", got)
	}
}

// TestKconfigRepoSpecialFiles: a tracked configuration replaced by a FIFO
// is a finding, at once, not a read that waits for a writer.
func TestKconfigRepoSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.email=t@example.org", "-c", "user.name=t"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	os.MkdirAll(filepath.Join(dir, "kernel"), 0o755)
	os.WriteFile(filepath.Join(dir, "kernel/image.config"), []byte("CONFIG_X86_64=y\n"), 0o644)
	git("init", "-q")
	git("add", ".")
	git("commit", "-qm", "x")
	os.Remove(filepath.Join(dir, "kernel/image.config"))
	if err := syscall.Mkfifo(filepath.Join(dir, "kernel/image.config"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := repo.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	settings := map[string]check.Settings{Kconfig.ID: {Enabled: true, Severity: check.High, Options: &KconfigOptions{Files: []string{"kernel/*.config"}, Profiles: []string{"anchor"}}}}
	done := make(chan *check.Result, 1)
	go func() { done <- check.Run(ctx, []*check.Check{Kconfig}, settings, check.Target{Repo: r}, nil) }()
	select {
	case res := <-done:
		if got := messages(res); len(got) != 1 || !strings.Contains(got[0], "kernel/image.config is a FIFO, not a regular file") {
			t.Errorf("findings %q, errors %v", got, res.Errors)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the kconfig check hangs on a FIFO")
	}
}
