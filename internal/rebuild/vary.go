package rebuild

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nixgate/nixgate/internal/nar"
	"github.com/nixgate/nixgate/internal/nixcli"
)

// Variations: what differs between the first builder and the others, on
// top of what Nix's sandbox already fixes (the environment, the user, the
// host name, the umask). This is reprotest's idea applied to Nix builds:
// a derivation whose output depends on one of these is caught by one
// rebuild.
const (
	// VaryTime: builder 2 starts when builder 1 has finished, past a
	// second boundary (`date +%s` and file times differ in every
	// derivation), and runs in a time namespace whose monotonic and
	// boot-time clocks are ahead (uptime differs).
	VaryTime = "time"
	// VaryCores: --option cores 1 against the host's count
	// (NIX_BUILD_CORES).
	VaryCores = "cores"
	// VaryCPUs: builder 2 may use one CPU (nproc).
	VaryCPUs = "cpus"
	// VaryBuildDir: --option sandbox-build-dir /build-ID.
	VaryBuildDir = "build-dir"
	// VaryKernel: --option impersonate-linux-26 true (uname -r is 2.6.x).
	VaryKernel = "kernel"
	// VaryTimezone: an /etc/localtime of UTC+14 in builder 2's sandbox.
	VaryTimezone = "timezone"
	// VaryFileOrder: builder 2's build directory on a disorderfs mount
	// that shuffles directory listings.
	VaryFileOrder = "file-order"
)

// AllVariations are every variation, in report order.
var AllVariations = []string{VaryTime, VaryCores, VaryCPUs, VaryBuildDir, VaryKernel, VaryTimezone, VaryFileOrder}

// ParseVary reads --vary values: names separated by commas, "all" or
// "none". The result is in report order, without repeats.
func ParseVary(items []string) ([]string, error) {
	set := map[string]bool{}
	for _, it := range items {
		for _, n := range strings.Split(it, ",") {
			switch n = strings.TrimSpace(n); n {
			case "":
			case "all":
				for _, v := range AllVariations {
					set[v] = true
				}
			case "none":
			default:
				if !slices.Contains(AllVariations, n) {
					return nil, fmt.Errorf("unknown variation %q (want %s, all or none)", n, strings.Join(AllVariations, ", "))
				}
				set[n] = true
			}
		}
	}
	out := []string{}
	for _, v := range AllVariations {
		if set[v] {
			out = append(out, v)
		}
	}
	return out, nil
}

// Variation is one way a builder differs from the first, as applied.
type Variation struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Applied bool   `json:"applied"`
	// Note says why a variation was not applied, or what it depends on.
	Note string `json:"note,omitempty"`
}

// plan is how one builder runs: its extra Nix options, how nix is
// started, when, and what its builds see.
type plan struct {
	// store, when not empty, is the store URI given to Nix instead of the
	// builder's (a remote builder's, with a remote-program carrying the
	// variations).
	store         string
	settings      nixcli.Settings
	exec          nixcli.Exec
	afterPrevious bool // starts when the builder before it has finished
	side          nar.Side
	variations    []Variation
}

// inProcess reports whether Nix builds b's derivations itself, in the
// nix process nixgate starts (a chroot store, or the local store as root
// without a daemon): only then do a time namespace, a CPU affinity and a
// TMPDIR reach the builds.
func (b Builder) inProcess() bool {
	switch b.Kind {
	case Chroot:
		return true
	case Local:
		r := os.Getenv("NIX_REMOTE")
		return os.Getuid() == 0 && (r == "" || r == "local")
	}
	return false
}

// hostCores is the first builder's NIX_BUILD_CORES: the host's CPU count,
// at least 2 so that the varied builders' 1 differs.
func hostCores() int { return max(2, runtime.NumCPU()) }

// allowedCPUs is the CPU list nixgate may run on (Cpus_allowed_list).
func allowedCPUs() []int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	for _, l := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(l, "Cpus_allowed_list:")
		if !ok {
			continue
		}
		var cpus []int
		for _, r := range strings.Split(strings.TrimSpace(v), ",") {
			lo, hi, isRange := strings.Cut(r, "-")
			a, err1 := strconv.Atoi(lo)
			z := a
			var err2 error
			if isRange {
				z, err2 = strconv.Atoi(hi)
			}
			if err1 != nil || err2 != nil || z < a || z-a > 4096 {
				return nil
			}
			for c := a; c <= z; c++ {
				cpus = append(cpus, c)
			}
		}
		return cpus
	}
	return nil
}

// kernelRelease is the host's uname -r.
func kernelRelease() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return ""
	}
	var b []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

func randomID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Values of the varied builders.
const (
	clockShift = 1000000 * time.Second // the time namespace's shift (11.6 days) per builder
	tzOffset   = 14 * 3600             // UTC+14 (Line Islands): no host runs in it by accident
	tzName     = "+14"
)

// makePlans decides every builder's environment. The first builder is
// the baseline, with its values stated explicitly (cores, build
// directory, no impersonation); the others get the variations in vary,
// each applied when the builder's kind allows it.
func makePlans(ctx context.Context, builders []Builder, vary []string, ws *workspace) []*plan {
	plans := make([]*plan, len(builders))
	cpus := allowedCPUs()
	kernel := kernelRelease()
	base := &plan{
		settings: nixcli.Settings{"cores": strconv.Itoa(hostCores()), "sandbox-build-dir": "/build", "impersonate-linux-26": "false"},
		side:     nar.Side{Name: builders[0].Name, BuildDir: "/build", Cores: hostCores(), CPUs: len(cpus), Kernel: kernel, TimeZone: "UTC"},
	}
	if !builders[0].inProcess() {
		base.side.CPUs, base.side.Kernel = 0, ""
	}
	plans[0] = base
	for i := 1; i < len(builders); i++ {
		b := builders[i]
		p := &plan{settings: nixcli.Settings{}, side: base.side}
		p.side.Name = b.Name
		if !b.inProcess() {
			p.side.CPUs, p.side.Kernel = 0, ""
		}
		for _, v := range vary {
			p.variations = append(p.variations, applyVariation(ctx, v, i, b, p, cpus, ws))
		}
		if b.Kind == Remote {
			remoteProgram(b, p)
		}
		plans[i] = p
	}
	pidns := os.Getuid() == 0 && nixcli.CheckWrappers(ctx, nixcli.Exec{PIDNamespace: true}) == nil
	for i, b := range builders {
		if b.inProcess() && pidns {
			plans[i].exec.PIDNamespace = true
		}
		if b.inProcess() {
			// Nix's own build directories live under TMPDIR: keep them in
			// the workspace, removed with it even after a SIGKILL.
			if !slices.ContainsFunc(plans[i].exec.Env, func(e string) bool { return strings.HasPrefix(e, "TMPDIR=") }) {
				dir := filepath.Join(ws.dir, fmt.Sprintf("tmp-%d", i))
				if os.MkdirAll(dir, 0o755) == nil {
					plans[i].exec.Env = append(plans[i].exec.Env, "TMPDIR="+dir)
				}
			}
		}
	}
	return plans
}

// daemonNote is said of a variation that a daemon honours only for a
// trusted user.
func daemonNote(b Builder) string {
	if b.Kind == Remote {
		return remoteNote
	}
	return "passed to the daemon, which honours it for a trusted user"
}

// remoteNote: Nix does not forward options to an ssh-ng:// store (since
// 2.0: "ssh-ng: Don't forward options to the daemon"), so nixgate sets
// them on the remote nix-daemon's command line.
const remoteNote = "set on the remote nix-daemon's command line (remote-program): it applies when that daemon builds in the remote store itself (an ssh user who owns the store, such as root), not when it hands the build to the remote host's daemon socket"

// remoteOptions are the variations that reach a remote builder, as
// nix-daemon options.
var remoteOptions = []string{"cores", "sandbox-build-dir", "impersonate-linux-26"}

// remoteProgram moves the plan's options that a remote builder can take
// into its store URI's remote-program ("nix-daemon --option cores 1 ..."),
// unless the URI names its own remote-program (then they are not applied).
func remoteProgram(b Builder, p *plan) {
	var args []string
	for _, k := range remoteOptions {
		if v, ok := p.settings[k]; ok {
			args = append(args, "--option", k, v)
			delete(p.settings, k)
		}
	}
	if len(args) == 0 {
		return
	}
	if strings.Contains(b.URI, "remote-program=") {
		for i := range p.variations {
			if v := &p.variations[i]; v.Applied && v.Note == remoteNote {
				v.Applied, v.Note = false, "not applied: the builder's URI names its own remote-program"
			}
		}
		return
	}
	sep := "?"
	if strings.Contains(b.URI, "?") {
		sep = "&"
	}
	// Nix decodes %XX in store URI parameters, not "+".
	p.store = b.URI + sep + "remote-program=" + strings.ReplaceAll(url.PathEscape("nix-daemon "+strings.Join(args, " ")), "&", "%26")
}

func applyVariation(ctx context.Context, name string, i int, b Builder, p *plan, cpus []int, ws *workspace) Variation {
	v := Variation{Name: name}
	switch name {
	case VaryTime:
		p.afterPrevious = true
		v.Value = "starts when the builder before it has finished, past a second boundary"
		v.Applied = true
		if !b.inProcess() {
			v.Note = "no time namespace: the builds run in a daemon, not in the nix process nixgate starts"
			break
		}
		e := nixcli.Exec{ClockShift: time.Duration(i) * clockShift}
		if err := nixcli.CheckWrappers(ctx, e); err != nil {
			v.Note = "no time namespace: " + err.Error()
			break
		}
		p.exec.ClockShift = e.ClockShift
		p.side.ClockShift = e.ClockShift
		v.Value += fmt.Sprintf("; monotonic and boot-time clocks %.0fs (%.1f days) ahead", e.ClockShift.Seconds(), e.ClockShift.Hours()/24)
	case VaryCores:
		p.settings["cores"] = "1"
		p.side.Cores = 1
		v.Value, v.Applied = "cores 1 (NIX_BUILD_CORES=1)", true
		if !b.inProcess() {
			v.Note = daemonNote(b)
		}
	case VaryCPUs:
		switch {
		case !b.inProcess():
			v.Value, v.Note = "one CPU", "not applied: the builds run in a daemon, whose CPU affinity nixgate cannot set"
		case len(cpus) < 2:
			v.Value, v.Note = "one CPU", "not applied: nixgate may run on one CPU only, so the first builder has one too"
		default:
			cpu := cpus[(len(cpus)-i%len(cpus))%len(cpus)]
			e := nixcli.Exec{CPUs: []int{cpu}}
			if err := nixcli.CheckWrappers(ctx, e); err != nil {
				v.Value, v.Note = "one CPU", "not applied: "+err.Error()
				break
			}
			p.exec.CPUs = e.CPUs
			p.side.CPUs = 1
			v.Value, v.Applied = fmt.Sprintf("CPU %d only (nproc 1, against %d)", cpu, len(cpus)), true
		}
	case VaryBuildDir:
		dir := "/build-" + ws.id + "-" + strconv.Itoa(i)
		p.settings["sandbox-build-dir"] = dir
		p.side.BuildDir = dir
		v.Value, v.Applied = "sandbox-build-dir "+dir, true
		if !b.inProcess() {
			v.Note = daemonNote(b)
		}
	case VaryKernel:
		p.settings["impersonate-linux-26"] = "true"
		p.side.Kernel = ""
		v.Value, v.Applied = "impersonate-linux-26 (uname -r reports 2.6.x)", true
		if !b.inProcess() {
			v.Note = daemonNote(b)
		}
	case VaryTimezone:
		v.Value = "/etc/localtime of UTC+14 (" + tzName + ")"
		if b.Kind == Remote {
			v.Note = "not applied: the zone file would have to exist on the remote host"
			break
		}
		f := filepath.Join(ws.dir, "localtime")
		if err := os.WriteFile(f, tzif(tzOffset, tzName), 0o644); err != nil {
			v.Note = "not applied: " + err.Error()
			break
		}
		p.settings["extra-sandbox-paths"] = "/etc/localtime=" + f
		p.side.TimeZone = tzName
		v.Applied = true
		if !b.inProcess() {
			v.Note = daemonNote(b)
		}
	case VaryFileOrder:
		v.Value = "build directory on disorderfs (shuffled directory listings)"
		if !b.inProcess() {
			v.Note = "not applied: the builds run in a daemon, whose TMPDIR nixgate cannot set"
			break
		}
		mnt, err := ws.disorder(ctx, fmt.Sprintf("tmp-%d", i))
		if err != nil {
			v.Note = "not applied: " + err.Error()
			break
		}
		p.exec.Env = append(p.exec.Env, "TMPDIR="+mnt)
		v.Applied = true
	}
	return v
}

// tzif returns a TZif (RFC 8536, version 1) zone file of one fixed
// offset, so that no tzdata is needed.
func tzif(offset int32, abbr string) []byte {
	b := []byte("TZif")
	b = append(b, make([]byte, 16)...) // version 1, reserved
	be := binary.BigEndian
	for _, n := range []uint32{0, 0, 0, 0, 1, uint32(len(abbr) + 1)} {
		b = be.AppendUint32(b, n) // isutcnt isstdcnt leapcnt timecnt typecnt charcnt
	}
	b = be.AppendUint32(b, uint32(offset))
	b = append(b, 0, 0) // isdst, abbreviation index
	b = append(b, abbr...)
	return append(b, 0)
}

// disorderfs mounts a shuffling view of a new directory; the mount is
// the workspace's and is removed with it.
func (w *workspace) disorder(ctx context.Context, name string) (string, error) {
	bin, err := exec.LookPath("disorderfs")
	if err != nil {
		return "", fmt.Errorf("disorderfs is not installed (apt-get install disorderfs)")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return "", fmt.Errorf("no /dev/fuse: %w", err)
	}
	// disorderfs --multi-user reaches its backing directory as the build
	// user: every directory above it must let others through.
	for d := filepath.Dir(w.dir); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			return "", fmt.Errorf("%s is not searchable by the build users (mode %o), which disorderfs reaches its directory as: set TMPDIR to a directory they can search", d, fi.Mode().Perm())
		}
		if d == "/" || d == "." {
			break
		}
	}
	backing, mnt := filepath.Join(w.dir, name+".real"), filepath.Join(w.dir, name)
	for _, d := range []string{backing, mnt} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	// In the foreground, as a child that dies with nixgate; a mount left
	// by a SIGKILL is removed by the next run's cleanup.
	cmd := exec.Command(bin, "-f", "--shuffle-dirents=yes", "--multi-user=yes", "-o", "allow_other", backing, mnt)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("disorderfs: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(10 * time.Second)
	for !isMounted(mnt) {
		select {
		case err := <-exited:
			return "", fmt.Errorf("disorderfs: %v: %s", err, strings.TrimSpace(stderr.String()))
		case <-deadline:
			_ = cmd.Process.Kill()
			return "", fmt.Errorf("disorderfs: %s not mounted after 10s", mnt)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	w.mounts = append(w.mounts, mount{dir: mnt, exited: exited, proc: cmd.Process})
	return mnt, nil
}
