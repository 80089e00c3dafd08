package ci

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind is what a gate runs.
type Kind string

// The gates, in the order they run: the cheap static gates first, then the
// host, the flake's evaluation, the project's own commands (a step may build
// what the later gates read), rebuilds, the cache, the image and provenance.
const (
	KindCheck      Kind = "check"
	KindPR         Kind = "pr"
	KindLock       Kind = "lock"
	KindKconfig    Kind = "kconfig"
	KindHost       Kind = "host"
	KindOutputs    Kind = "required-outputs"
	KindDevshell   Kind = "devshell-tools"
	KindRun        Kind = "run"
	KindRebuild    Kind = "rebuild"
	KindCache      Kind = "cache"
	KindUKICheck   Kind = "uki-check"
	KindUKIVerify  Kind = "uki-verify"
	KindBootTest   Kind = "uki-boot-test"
	KindProvenance Kind = "provenance"
)

// Kinds lists every gate kind in run order.
func Kinds() []Kind {
	return []Kind{KindCheck, KindPR, KindLock, KindKconfig, KindHost, KindOutputs, KindDevshell, KindRun,
		KindRebuild, KindCache, KindUKICheck, KindUKIVerify, KindBootTest, KindProvenance}
}

// static gates read files only: no evaluation, no build, no network.
var static = map[Kind]bool{KindCheck: true, KindPR: true, KindLock: true, KindKconfig: true, KindUKICheck: true, KindUKIVerify: true}

// How a gate's output is read back.
const (
	readReport  = "report"  // a JSON report of report.Write
	readSARIF   = "sarif"   // a SARIF log of report.Write (lock diff, kconfig)
	readRebuild = "rebuild" // rebuild's JSON report
	readBoot    = "boot"    // uki boot-test's JSON result
	readAttest  = "attest"  // an in-toto statement
	readExec    = "exec"    // a run step: its exit status and log
)

// Gate is one planned gate.
type Gate struct {
	Kind Kind
	// Name is unique in a run: "check", "lock flake.lock", "run: tests".
	Name   string
	Static bool
	// Args are nixgate's arguments (a run step: the command itself),
	// without the output format ci adds.
	Args []string
	// Format is the --format ci asks for ("" for none).
	Format string
	read   string
	// Command is the nixgate command the gate needs ("uki", "check").
	Command []string
	// Needs are programs that must be on PATH.
	Needs []string
	// Requires are files that must exist when the gate starts (an image
	// a step builds).
	Requires []string
	// Reach are network addresses (host:port) the gate needs; one that
	// cannot be reached when the gate starts skips it.
	Reach []string
	// Timeout bounds the gate; 0 for what is left of the run.
	Timeout time.Duration
	// Dir is a run step's working directory.
	Dir string
	// FailOn is the failure threshold of gates read from SARIF.
	FailOn string
	// OutputFile is where the command writes its output instead of
	// stdout (-o).
	OutputFile string
	// Target names what a gate read from SARIF looked at.
	Target string
	// Skip, when set, is why the gate does not run (known when planning).
	Skip string
	// Why says what the gate is for (--explain).
	Why string
}

// CommandLine is the gate's equivalent command line, for a user to run.
func (g *Gate) CommandLine() string {
	if g.Kind == KindRun {
		s := Quote(g.Args)
		if g.Dir != "" && g.Dir != "." {
			s = "cd " + Quote([]string{g.Dir}) + " && " + s
		}
		return s
	}
	return strings.TrimSpace("nixgate " + Quote(g.Args))
}

// Quote renders argv as a POSIX shell would need it.
func Quote(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = quote1(a)
	}
	return strings.Join(out, " ")
}

func quote1(s string) string {
	if s == "" {
		return "''"
	}
	plain := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,#", r)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Plan is what Plan needs to know.
type Plan struct {
	// Dir is the repository as the user named it.
	Dir    string
	Config *Config
	// PolicyArg is --policy as given; PolicyFile the policy in use ("" for
	// the built-in default).
	PolicyArg, PolicyFile string
	// Base and Head are the change's revisions ("" Base: unknown).
	Base, Head, BaseFrom string
	// Event is a GitHub event payload for the pr gate's labels.
	Event  string
	Labels []string
	// Only and Skip select gates (--only, --skip, [ci] gates and skip).
	Only, Skip []string
	// Files are the repository's files (for the default lock files).
	Files []string
	// Has reports whether this nixgate has a command.
	Has func(path ...string) bool
	// LookPath finds a program on PATH.
	LookPath func(string) (string, error)
}

// Selectors lists the names --only and --skip take for c.
func Selectors(c *Config) []string {
	s := []string{"static"}
	for _, k := range Kinds() {
		s = append(s, string(k))
	}
	s = append(s, "uki")
	if c != nil {
		for _, r := range c.Run {
			s = append(s, "run:"+r.Name)
		}
	}
	return s
}

func validSelector(s string, c *Config) bool { return slices.Contains(Selectors(c), s) }

// selects reports whether the selector sel names g.
func selects(sel string, g *Gate) bool {
	switch {
	case sel == "static":
		return g.Static
	case sel == "uki":
		return strings.HasPrefix(string(g.Kind), "uki-")
	case strings.HasPrefix(sel, "run:"):
		return g.Kind == KindRun && g.Name == "run: "+strings.TrimPrefix(sel, "run:")
	}
	return string(g.Kind) == sel
}

// CheckSelectors fails on a name --only or --skip does not know.
func CheckSelectors(c *Config, names []string) error {
	for _, n := range names {
		if !validSelector(n, c) {
			return fmt.Errorf("unknown gate %q (want one of %s)", n, strings.Join(Selectors(c), ", "))
		}
	}
	return nil
}

// inRepo joins a repository-relative path to the repository as the user
// named it.
func (p *Plan) inRepo(rel string) string {
	if rel == "" || filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(p.Dir, filepath.FromSlash(rel))
}

// policyArgs is --policy for the commands that read ./nixgate.toml by
// default (host, cache verify, uki): the policy in use, so that every gate
// sees the same one.
func (p *Plan) policyArgs(readsDir bool) []string {
	switch {
	case p.PolicyArg != "":
		return []string{"--policy", p.PolicyArg}
	case !readsDir && p.PolicyFile != "":
		return []string{"--policy", p.PolicyFile}
	}
	return nil
}

// Gates plans the gates: every configured gate (check always, pr and lock
// when a base is known), in run order, with what would skip it.
func (p *Plan) Gates() []*Gate {
	c := p.Config
	if c == nil {
		c = &Config{}
	}
	var gs []*Gate
	add := func(g *Gate) { gs = append(gs, g) }
	head := p.Head
	if head == "" {
		head = "HEAD"
	}
	noBase := "no base revision: pass --base, or run on a pull request (GitHub pull_request event, GitLab merge request pipeline)"

	if c.Check == nil || c.Check.on() {
		g := &Gate{Kind: KindCheck, Name: "check", Args: []string{"check", p.Dir}, Format: "json", read: readReport,
			Why: "the repository gates of the policy (build outputs, secrets, pins, CI signing, init-program invariants, required paths)"}
		g.Args = append(g.Args, p.policyArgs(true)...)
		if cg := c.Check; cg != nil {
			g.Args = appendList(g.Args, "--only", cg.Only)
			g.Args = appendList(g.Args, "--skip", cg.Skip)
			g.Args = appendOpt(g.Args, "--fail-on", cg.FailOn)
			g.Args = appendOpt(g.Args, "--baseline", p.inRepo(cg.Baseline))
			g.Timeout = time.Duration(cg.Timeout)
		}
		add(g)
	}
	lockOn := c.Lock == nil || c.Lock.on()
	var lockFiles []string
	if c.Lock != nil && len(c.Lock.Files) > 0 {
		lockFiles = c.Lock.Files
	} else {
		for _, f := range p.Files {
			if path.Base(f) == "flake.lock" {
				lockFiles = append(lockFiles, f)
			}
		}
	}
	lockRuns := lockOn && p.Base != "" && len(lockFiles) > 0
	if c.PR == nil || c.PR.on() {
		g := &Gate{Kind: KindPR, Name: "pr", Format: "json", read: readReport,
			Why: "the change against its base: what it adds, the lock label, what needs security review"}
		g.Args = []string{"pr", "--base", or(p.Base, "BASE")}
		if head != "HEAD" {
			g.Args = append(g.Args, "--head", head)
		}
		g.Args = append(g.Args, p.Dir)
		g.Args = append(g.Args, p.policyArgs(true)...)
		if p.Event != "" {
			g.Args = append(g.Args, "--event", p.Event)
		}
		labels := slices.Clone(p.Labels)
		if pg := c.PR; pg != nil {
			labels = append(labels, pg.Labels...)
			for _, s := range pg.Sensitive {
				g.Args = append(g.Args, "--sensitive", s)
			}
			g.Args = appendOpt(g.Args, "--fail-on", pg.FailOn)
			g.Timeout = time.Duration(pg.Timeout)
		}
		for _, l := range labels {
			g.Args = append(g.Args, "--label", l)
		}
		if lockRuns {
			// The lock gate reports the delta's risks; pr keeps the label.
			g.Args = append(g.Args, "--skip", "lock-change-risk")
		}
		if p.Base == "" {
			g.Skip = noBase
		}
		add(g)
	}
	if lockOn && (c.Lock != nil || len(lockFiles) > 0) {
		failOn := "high"
		if c.Lock != nil && c.Lock.FailOn != "" {
			failOn = c.Lock.FailOn
		}
		// Both sides come from git's objects: a lock in the work tree could
		// be a symlink out of the repository.
		rng := or(p.Base, "BASE") + ".." + head
		if len(lockFiles) == 0 {
			add(&Gate{Kind: KindLock, Name: "lock", Skip: "no flake.lock in the repository", Command: []string{"lock", "diff"}})
		}
		for _, f := range lockFiles {
			g := &Gate{Kind: KindLock, Name: "lock " + f, Format: "sarif", read: readSARIF, FailOn: riskSeverity(failOn), Target: f + " (" + rng + ")",
				Args: []string{"lock", "diff", "-C", p.Dir, "--git", rng, f, "--fail-on", failOn},
				Why:  "the flake.lock delta against the base: owner, branch and host changes, downgrades, narHash changes"}
			if c.Lock != nil {
				g.Timeout = time.Duration(c.Lock.Timeout)
			}
			if p.Base == "" {
				g.Skip = noBase
			}
			add(g)
		}
	}
	if k := c.Kconfig; k != nil && k.on() {
		for _, cfg := range k.Configs {
			g := &Gate{Kind: KindKconfig, Name: "kconfig " + cfg, Format: "sarif", read: readSARIF, FailOn: "info", Target: cfg,
				Args:    []string{"kconfig", p.inRepo(cfg)},
				Timeout: time.Duration(k.Timeout),
				Why:     "the kernel configuration, command line and sysctls against the hardening profiles"}
			for _, pr := range k.Profiles {
				if strings.Contains(pr, "/") || strings.HasSuffix(pr, ".toml") {
					pr = p.inRepo(pr)
				}
				g.Args = append(g.Args, "--profile", pr)
			}
			g.Args = appendOpt(g.Args, "--cmdline", p.inRepo(k.Cmdline))
			g.Args = appendOpt(g.Args, "--sysctl", p.inRepo(k.Sysctl))
			g.Args = appendOpt(g.Args, "--arch", k.Arch)
			add(g)
		}
	}
	if h := c.Host; h != nil && h.on() {
		g := &Gate{Kind: KindHost, Name: "host", Args: []string{"host"}, Format: "json", read: readReport, Timeout: time.Duration(h.Timeout),
			Why: "this runner's effective Nix configuration: sandbox, signatures, substituters, trusted users, CI signing keys"}
		g.Args = appendOpt(g.Args, "--root", p.inRepo(h.Root))
		g.Static = h.Root != "" // an offline tree is files, like the repository
		if h.Probe {
			g.Args = append(g.Args, "--probe")
			g.Args = appendOpt(g.Args, "--store", h.Store)
			for _, o := range h.Options {
				g.Args = append(g.Args, "--option", o)
			}
			g.Needs = []string{"nix"}
			g.Why += "; the sandbox proven by a probe build"
		}
		g.Args = append(g.Args, p.policyArgs(false)...)
		add(g)
	}
	nixArgs := func(args []string) []string {
		args = appendOpt(args, "--store", c.Nix.Store)
		for _, o := range c.Nix.Options {
			args = append(args, "--option", o)
		}
		return args
	}
	if len(c.RequiredOutputs) > 0 {
		g := &Gate{Kind: KindOutputs, Name: "required-outputs", Format: "json", read: readReport, Needs: []string{"nix"},
			Command: []string{"flake", "outputs"}, Timeout: time.Duration(c.Nix.Timeout),
			Args: []string{"flake", "outputs", p.inRepo(or(c.Nix.Flake, "."))}, Why: "the flake has the outputs the pipeline ships (nix flake show)"}
		for _, o := range c.RequiredOutputs {
			g.Args = append(g.Args, "--require", o)
		}
		g.Args = append(nixArgs(g.Args), p.policyArgs(false)...)
		add(g)
	}
	if len(c.DevshellTools) > 0 {
		g := &Gate{Kind: KindDevshell, Name: "devshell-tools", Format: "json", read: readReport, Needs: []string{"nix"},
			Command: []string{"flake", "devshell"}, Timeout: time.Duration(c.Nix.Timeout),
			Args: []string{"flake", "devshell", p.inRepo(or(c.Nix.Flake, "."))}, Why: "the dev shell provides the tools the pipeline needs (nix develop)"}
		g.Args = appendOpt(g.Args, "--shell", c.Devshell)
		for _, t := range c.DevshellTools {
			g.Args = append(g.Args, "--tool", t)
		}
		g.Args = append(nixArgs(g.Args), p.policyArgs(false)...)
		add(g)
	}
	for _, r := range c.Run {
		if r.Enabled != nil && !*r.Enabled {
			continue
		}
		g := &Gate{Kind: KindRun, Name: "run: " + r.Name, Args: slices.Clone(r.Command), read: readExec,
			Timeout: time.Duration(r.Timeout), Dir: p.inRepo(or(r.Dir, ".")), Why: "a command of the project"}
		g.Needs = r.Needs
		if g.Needs == nil && len(r.Command) > 0 && !strings.Contains(r.Command[0], "/") {
			g.Needs = []string{r.Command[0]}
		}
		add(g)
	}
	if rb := c.Rebuild; rb != nil && rb.on() {
		g := &Gate{Kind: KindRebuild, Name: "rebuild", Format: "json", read: readRebuild, Needs: []string{"nix"},
			Timeout: time.Duration(rb.Timeout), Why: "the outputs rebuilt on independent clean builders give the same NAR hashes"}
		g.Args = []string{"rebuild"}
		for _, i := range rb.Installables {
			g.Args = append(g.Args, p.installable(i))
		}
		for _, a := range rb.Attrs {
			g.Args = append(g.Args, "-A", a)
		}
		for _, b := range rb.Builders {
			if !strings.Contains(b, "://") && b != "local" {
				b = p.inRepo(b)
			}
			g.Args = append(g.Args, "--builder", b)
		}
		g.Args = appendOpt(g.Args, "--artifact", rb.Artifact)
		g.Args = append(g.Args, p.policyArgs(false)...)
		for _, b := range rb.Builders {
			if a := netAddr(b); a != "" {
				g.Reach = append(g.Reach, a)
			}
		}
		add(g)
	}
	if cg := c.Cache; cg != nil && cg.on() {
		g := &Gate{Kind: KindCache, Name: "cache", Format: "json", read: readReport, Timeout: time.Duration(cg.Timeout),
			Command: []string{"cache", "verify"}, Args: []string{"cache", "verify", cg.Store},
			Why: "the binary cache: k-of-n signatures, NAR hashes, closure"}
		for _, k := range cg.Keys {
			g.Args = append(g.Args, "--trusted-key", k)
		}
		if cg.Require > 0 {
			g.Args = append(g.Args, "--require", strconv.Itoa(cg.Require))
		}
		for _, s := range cg.Closure {
			g.Args = append(g.Args, "--closure", s)
		}
		g.Args = appendOpt(g.Args, "--paths", p.inRepo(cg.Paths))
		if cg.All {
			g.Args = append(g.Args, "--all")
		}
		g.Args = appendOpt(g.Args, "--nar", cg.Nar)
		for _, u := range cg.Upstream {
			g.Args = append(g.Args, "--upstream", u)
		}
		g.Args = append(g.Args, p.policyArgs(false)...)
		for _, u := range append([]string{cg.Store}, cg.Upstream...) {
			if a := netAddr(u); a != "" {
				g.Reach = append(g.Reach, a)
			}
		}
		add(g)
	}
	if u := c.UKI; u != nil && u.on() {
		file := p.inRepo(u.File)
		ukiPolicy := p.policyArgs(false)
		if u.Policy != "" {
			ukiPolicy = []string{"--policy", p.inRepo(u.Policy)}
		}
		if u.Check == nil || *u.Check {
			g := &Gate{Kind: KindUKICheck, Name: "uki-check", Format: "json", read: readReport, Requires: []string{file},
				Command: []string{"uki", "check"}, Timeout: time.Duration(u.Timeout),
				Args: append([]string{"uki", "check", file}, ukiPolicy...),
				Why:  "the image's content: command line, kernel configuration, embedded policies, layout"}
			add(g)
		}
		if len(u.Certs)+len(u.DB) > 0 {
			g := &Gate{Kind: KindUKIVerify, Name: "uki-verify", Format: "json", read: readReport, Requires: []string{file},
				Command: []string{"uki", "verify"}, Timeout: time.Duration(u.Timeout), Args: []string{"uki", "verify", file},
				Why: "every Authenticode signature of the image, the way Secure Boot verifies it"}
			for _, c := range u.Certs {
				g.Args = append(g.Args, "--cert", p.inRepo(c))
			}
			for _, d := range u.DB {
				g.Args = append(g.Args, "--db", p.inRepo(d))
			}
			for _, d := range u.DBX {
				g.Args = append(g.Args, "--dbx", p.inRepo(d))
			}
			g.Args = append(g.Args, ukiPolicy...)
			add(g)
		}
		if u.BootTest {
			g := &Gate{Kind: KindBootTest, Name: "uki-boot-test", Format: "json", read: readBoot, Requires: []string{file},
				Command: []string{"uki", "boot-test"}, Needs: []string{"qemu-system-x86_64"},
				Args: []string{"uki", "boot-test", file}, Why: "the image boots in QEMU under the firmware (Secure Boot enforced by default)"}
			g.Args = appendOpt(g.Args, "--firmware", u.Firmware)
			g.Args = appendOpt(g.Args, "--expect", u.Expect)
			if u.BootTimeout > 0 {
				g.Args = append(g.Args, "--timeout", time.Duration(u.BootTimeout).String())
			}
			add(g)
		}
	}
	if pv := c.Provenance; pv != nil && pv.on() {
		g := &Gate{Kind: KindProvenance, Name: "provenance", Format: "json", read: readAttest, Needs: []string{"nix"}, Command: []string{"attest"},
			Timeout: time.Duration(pv.Timeout), Args: []string{"attest", p.installable(pv.Installable)},
			Why: "an in-toto SLSA provenance statement for the output (attest only: ci never signs)"}
		for _, a := range pv.Artifacts {
			g.Args = append(g.Args, "--artifact", p.inRepo(a))
		}
		g.Args = appendOpt(g.Args, "--store", pv.Store)
		g.Args = appendOpt(g.Args, "--builder-id", pv.BuilderID)
		g.Args = appendOpt(g.Args, "-o", p.inRepo(pv.Output))
		g.OutputFile = p.inRepo(pv.Output)
		add(g)
	}

	for _, g := range gs {
		g.Static = g.Static || static[g.Kind]
		if g.Command == nil && len(g.Args) > 0 && g.Kind != KindRun {
			g.Command = g.Args[:1]
		}
	}
	only := append(slices.Clone(p.Only), c.Gates...)
	skip := append(slices.Clone(p.Skip), c.Skip...)
	gs = slices.DeleteFunc(gs, func(g *Gate) bool {
		if len(only) > 0 && !slices.ContainsFunc(only, func(s string) bool { return selects(s, g) }) {
			return true
		}
		return slices.ContainsFunc(skip, func(s string) bool { return selects(s, g) })
	})
	for _, g := range gs {
		if g.Skip != "" {
			continue
		}
		if p.Has != nil && g.Kind != KindRun && !p.Has(g.Command...) {
			g.Skip = fmt.Sprintf("command not available: this nixgate has no `nixgate %s`", strings.Join(g.Command, " "))
			continue
		}
		for _, n := range g.Needs {
			if p.LookPath == nil {
				break
			}
			if _, err := p.LookPath(n); err != nil {
				g.Skip = fmt.Sprintf("%s not found on PATH", n)
				break
			}
		}
	}
	return gs
}

// installable names a flake reference or file relative to the repository.
func (p *Plan) installable(i string) string {
	switch {
	case p.Dir == "." || p.Dir == "":
		return i
	case i == ".":
		return p.Dir
	case strings.HasPrefix(i, ".#"):
		return p.Dir + i[1:]
	case strings.HasPrefix(i, "./"):
		return p.inRepo(i)
	}
	return i
}

// riskSeverity is the severity a lock diff risk threshold stands for.
func riskSeverity(r string) string {
	switch strings.ToLower(r) {
	case "never", "none":
		return "never"
	}
	return strings.ToLower(r)
}

func appendOpt(args []string, flag, v string) []string {
	if v == "" {
		return args
	}
	return append(args, flag, v)
}

func appendList(args []string, flag string, vs []string) []string {
	if len(vs) == 0 {
		return args
	}
	return append(args, flag, strings.Join(vs, ","))
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// netAddr is the host:port a store URI reaches over the network ("" for a
// local store): http(s), s3 with an endpoint (AWS otherwise), ssh.
func netAddr(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" {
		return ""
	}
	port := map[string]string{"http": "80", "https": "443", "ssh": "22", "ssh-ng": "22"}[u.Scheme]
	host := u.Hostname()
	switch u.Scheme {
	case "s3":
		ep := u.Query().Get("endpoint")
		if ep == "" {
			region := or(u.Query().Get("region"), "us-east-1")
			return "s3." + region + ".amazonaws.com:443"
		}
		if !strings.Contains(ep, "://") {
			ep = or(u.Query().Get("scheme"), "https") + "://" + ep
		}
		return netAddr(ep)
	case "http", "https", "ssh", "ssh-ng":
	default:
		return ""
	}
	if p := u.Port(); p != "" {
		port = p
	}
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	return net.JoinHostPort(host, port)
}
