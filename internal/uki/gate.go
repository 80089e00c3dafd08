package uki

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/nixgate/nixgate/internal/authenticode"
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/kconfig"
)

// Target is the input of the uki checks (check.Target.Input). Each command
// fills what its checks read: uki check the image, uki verify the
// verification too, uki diff the diff.
type Target struct {
	Image *Image
	// Verify is the signature verification (uki verify).
	Verify *authenticode.Result
	// ESP holds the lanzaboote file checks when --esp was given; ESPDir is
	// that directory.
	ESP    []ESPFile
	ESPDir string
	// Diff is what signing changed (uki diff).
	Diff *DiffResult
	// ReadFile reads a profile or schema file named in the policy; nil
	// means os.ReadFile.
	ReadFile func(string) ([]byte, error)

	kernelOnce sync.Once
	kernelInfo *Kernel
}

// Locations of findings: a section by its name, an initrd file under
// "initrd/".
const initrdPrefix = "initrd/"

// CmdlineOptions configures uki-cmdline.
type CmdlineOptions struct {
	Init     string   `toml:"init" doc:"the init the command line must name with init= (the kernel runs the last init=)"`
	Deny     []string `toml:"deny" doc:"parameters the command line must not have: NAME (any value) or NAME=VALUE"`
	Profiles []string `toml:"profiles" doc:"kconfig profiles whose command-line rules apply: built-in names (anchor, kspp) or TOML files"`
	Config   string   `toml:"config" doc:"kernel configuration file the rules' kconfig conditions read when the kernel embeds none (such as the /boot/config-VERSION of its package)"`
}

// DefaultDeny are parameters that open a shell, turn off a protection, or
// fetch the root or policies at run time.
var DefaultDeny = []string{
	"init=/bin/sh", "init=/bin/bash", "init=/bin/busybox", "rdinit=/bin/sh", "rdinit=/bin/bash",
	"rd.break", "rd.shell", "rd.emergency", "rd.debug", "systemd.debug_shell", "systemd.debug-shell",
	"systemd.unit=emergency.target", "systemd.unit=rescue.target", "single", "emergency", "rescue",
	"module.sig_enforce=0", "lockdown=none", "efi=debug", "nokaslr", "selinux=0", "apparmor=0", "enforcing=0",
	"security=none", "iommu=off", "intel_iommu=off", "mitigations=off", "debugfs=on",
	"ip", "nfsroot", "root=/dev/nfs", "rd.neednet", "netroot",
}

// DefaultCmdlineOptions are uki-cmdline's defaults.
func DefaultCmdlineOptions() *CmdlineOptions {
	return &CmdlineOptions{Init: "/bin/bay0", Deny: slices.Clone(DefaultDeny), Profiles: []string{"anchor"}}
}

func loadProfiles(t *Target, refs []string) ([]*kconfig.Profile, error) {
	loader := kconfig.Loader{ReadFile: t.ReadFile}
	var out []*kconfig.Profile
	for _, ref := range refs {
		p, err := loader.Load(ref)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func paramKey(s string) string { return strings.ReplaceAll(s, "-", "_") }

// CheckCmdline is uki-cmdline: the required init=, the deny list, and the
// command-line rules of the kconfig profiles.
func CheckCmdline(ctx context.Context, p *check.Pass) error {
	t := p.Input.(*Target)
	opts := p.Options.(*CmdlineOptions)
	text, ok, err := t.Image.Cmdline()
	if err != nil {
		return err
	}
	loc := check.Location{Path: ".cmdline"}
	if !ok {
		p.Reportf(check.Location{}, "no-cmdline", "the image has no .cmdline section: the command line then comes from the boot loader, outside the signature")
		return nil
	}
	cl, err := kconfig.ParseCmdline([]byte(text))
	if err != nil {
		p.Reportf(loc, "parse", "the command line cannot be parsed: %v", err)
		return nil
	}
	if opts.Init != "" {
		got, ok := cl.Get("init")
		switch {
		case !ok:
			p.Reportf(loc, "init-missing", "the command line has no init= (the policy requires init=%s)", opts.Init)
		case got.Value != opts.Init:
			p.Reportf(check.Location{Path: loc.Path, Line: got.Line, Column: got.Column}, "init:"+got.Value,
				"the command line runs init=%s, not the required init=%s", got.Value, opts.Init)
		}
	}
	for _, d := range opts.Deny {
		name, value, hasValue := strings.Cut(d, "=")
		got, ok := cl.Get(name)
		if !ok || (hasValue && got.Value != value) {
			continue
		}
		shown := got.Name
		if got.HasValue {
			shown += "=" + got.Value
		}
		p.Reportf(check.Location{Path: loc.Path, Line: got.Line, Column: got.Column}, "deny:"+paramKey(d),
			"the command line has %s, which the deny list forbids (%s)", shown, d)
	}
	if len(opts.Profiles) == 0 {
		return nil
	}
	profiles, err := loadProfiles(t, opts.Profiles)
	if err != nil {
		return err
	}
	cfg, cfgPath, err := t.kernelConfig(opts.Config)
	if err != nil {
		return err
	}
	in := &kconfig.Input{Config: cfg, Arch: archOf(t.Image), Cmdline: cl, ConfigPath: cfgPath, CmdlinePath: ".cmdline"}
	// The command-line rules are those that a run without the command
	// line skips.
	without := kconfig.Evaluate(&kconfig.Input{Config: cfg, Arch: in.Arch, ConfigPath: cfgPath}, profiles)
	skipped := map[string]bool{}
	for _, r := range without.Results {
		if r.Verdict == kconfig.Skipped {
			skipped[r.Profile+"/"+r.ID] = true
		}
	}
	rep := kconfig.Evaluate(in, profiles)
	for _, r := range rep.Results {
		if r.Verdict != kconfig.Fail || !skipped[r.Profile+"/"+r.ID] {
			continue
		}
		msg := fmt.Sprintf("%s: expected %s, found %s (profile %s: %s)", r.Option, r.Expected, r.Actual, r.Profile, r.Reason)
		loc := check.Location{Path: ".cmdline"}
		if r.File != "" && r.Line > 0 {
			// The command line, or the configuration line that decided.
			loc = check.Location{Path: r.File, Line: r.Line, Column: r.Column}
		}
		p.ReportSeverity(r.Severity, check.Finding{Location: loc,
			Key: "rule:" + r.Profile + "/" + r.ID, Message: msg})
	}
	_ = ctx
	return nil
}

func archOf(im *Image) string {
	switch im.File.Machine {
	case 0x8664:
		return "x86_64"
	case 0x14c:
		return "x86_32"
	case 0xaa64:
		return "arm64"
	case 0x1c2, 0x1c4:
		return "arm"
	case 0x5064:
		return "riscv"
	}
	return ""
}

// kernelConfig is the embedded configuration, else the file fallback
// names, else an empty one (every option absent); path names it.
func (t *Target) kernelConfig(fallback string) (*kconfig.Config, string, error) {
	if k := t.kernel(); k != nil && k.HasConfig {
		if c, err := kconfig.ParseConfig(k.Config); err == nil {
			return c, ".linux", nil
		}
	}
	if fallback != "" {
		c, err := t.readConfig(fallback)
		return c, fallback, err
	}
	return &kconfig.Config{Options: map[string]kconfig.Option{}}, ".linux", nil
}

func (t *Target) readConfig(path string) (*kconfig.Config, error) {
	read := t.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	data, err := read(path)
	if err != nil {
		return nil, fmt.Errorf("kernel configuration: %w", err)
	}
	c, err := kconfig.ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("kernel configuration %s: %w", path, err)
	}
	return c, nil
}

// kernel reads the .linux section once for all checks.
func (t *Target) kernel() *Kernel {
	t.kernelOnce.Do(func() {
		if t.Image.IsLanzaboote() {
			return
		}
		if s := t.Image.File.Section(".linux"); s != nil {
			t.kernelInfo = ReadKernel(t.Image.File.Reader(s), int64(s.DataSize()), true)
		}
	})
	return t.kernelInfo
}

// KconfigOptions configures uki-kconfig.
type KconfigOptions struct {
	Profiles []string `toml:"profiles" doc:"kconfig profiles the embedded kernel configuration must pass: built-in names (anchor, kspp) or TOML files"`
	Require  bool     `toml:"require" doc:"fail when the kernel does not embed its configuration (CONFIG_IKCONFIG), so that the gate cannot see it"`
	Config   string   `toml:"config" doc:"kernel configuration file to check instead when the kernel embeds none (such as the /boot/config-VERSION of its package); findings name it"`
}

// CheckKconfig is uki-kconfig: the kernel's embedded configuration
// against the profiles (the engine of nixgate kconfig).
func CheckKconfig(ctx context.Context, p *check.Pass) error {
	t := p.Input.(*Target)
	opts := p.Options.(*KconfigOptions)
	if len(opts.Profiles) == 0 || t.Image.IsLanzaboote() {
		return nil
	}
	k := t.kernel()
	if k == nil {
		return nil
	}
	path := ".linux"
	var cfg *kconfig.Config
	switch {
	case k.HasConfig:
		var err error
		if cfg, err = kconfig.ParseConfig(k.Config); err != nil {
			p.Reportf(check.Location{Path: ".linux"}, "parse", "the embedded configuration cannot be parsed: %v", err)
			return nil
		}
	case opts.Config != "" && !opts.Require:
		var err error
		if cfg, err = t.readConfig(opts.Config); err != nil {
			return err
		}
		path = opts.Config
	default:
		if opts.Require {
			why := "the kernel was built without CONFIG_IKCONFIG"
			if k.Problem != "" {
				why = k.Problem
			}
			p.Reportf(check.Location{Path: ".linux"}, "no-config", "the kernel's configuration cannot be checked: %s", why)
		}
		return nil
	}
	profiles, err := loadProfiles(t, opts.Profiles)
	if err != nil {
		return err
	}
	in := &kconfig.Input{Config: cfg, Arch: archOf(t.Image), ConfigPath: path}
	what := "embedded configuration: "
	if path != ".linux" {
		what = "configuration " + path + " (the kernel embeds none): "
	}
	for _, fd := range kconfig.Evaluate(in, profiles).Findings(p.Check.ID) {
		fd.Message = what + fd.Message
		p.ReportSeverity(fd.Severity, fd)
	}
	_ = ctx
	return nil
}

// CheckLayout is uki-layout.
func CheckLayout(ctx context.Context, p *check.Pass) error {
	t := p.Input.(*Target)
	for _, lp := range t.Image.Layout() {
		p.Reportf(check.Location{Path: lp.Section}, lp.Kind+":"+lp.Message, "%s", lp.Message)
	}
	return nil
}

// SectionsOptions configures uki-sections.
type SectionsOptions struct {
	Required []string `toml:"required" doc:"sections the image must have"`
}

// CheckSections is uki-sections: the sections a UKI must embed.
func CheckSections(ctx context.Context, p *check.Pass) error {
	t := p.Input.(*Target)
	opts := p.Options.(*SectionsOptions)
	for _, name := range opts.Required {
		if t.Image.File.Section(name) == nil {
			what := Sections[name]
			if what == "" {
				what = "a required section"
			}
			p.Reportf(check.Location{}, "missing:"+name, "the image has no %s section (%s): what it would hold is not covered by the signature", name, what)
		}
	}
	if t.Image.IsLanzaboote() {
		return nil
	}
	if s := t.Image.File.Section(".linux"); s != nil {
		k := ReadKernel(t.Image.File.Reader(s), int64(s.DataSize()), false)
		if k.Format != "bzImage" && t.Image.File.Machine == 0x8664 {
			p.Reportf(check.Location{Path: ".linux"}, "linux-format", "the .linux section is not an x86 bzImage (%s)", orUnknown(k.Problem))
		}
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "no boot setup header"
	}
	return s
}

// PolicyFiles lists the files a policy may name in the image: the initrd's
// regular files (as paths relative to its root) and the sections (by
// name). read returns a file's content; want selects the initrd files
// whose content is kept for it.
func (t *Target) PolicyFiles(want func(string) bool) (files []string, read func(string) ([]byte, error), problems []string, err error) {
	sections := map[string]bool{}
	for _, s := range t.Image.File.Sections {
		if !sections[s.Name] {
			sections[s.Name] = true
			files = append(files, s.Name)
		}
	}
	contents := map[string][]byte{}
	if s := t.Image.File.Section(".initrd"); s != nil && !t.Image.IsLanzaboote() {
		in, err := ReadInitrd(t.Image.File.Reader(s), int64(s.DataSize()), want)
		if err != nil {
			return nil, nil, nil, err
		}
		problems = in.Problems
		seen := map[string]bool{}
		for _, f := range in.Files {
			if strings.HasPrefix(f.Mode, "-") && !seen[f.Path] {
				seen[f.Path] = true
				files = append(files, f.Path)
			}
		}
		contents = in.Contents
	}
	read = func(name string) ([]byte, error) {
		if sections[name] {
			b, _, err := t.Image.SectionData(name)
			return b, err
		}
		if b, ok := contents[name]; ok {
			return b, nil
		}
		return nil, fmt.Errorf("%s%s: not in the initrd (or not read)", initrdPrefix, name)
	}
	slices.Sort(files)
	return files, read, problems, nil
}

// DisplayPath is how findings name a policy file: a section by its name,
// an initrd file under initrd/.
func (t *Target) DisplayPath(name string) string {
	if t.Image.File.Section(name) != nil {
		return name
	}
	return initrdPrefix + name
}
