// Package hostaudit audits a build host's Nix setup: the effective
// configuration (read by internal/nixconf as Nix reads it), who is trusted,
// which substituters and keys are accepted, the Nix version against known
// advisories, and — with a probe build — whether the sandbox is really
// enforced. The checks themselves are listed in internal/checks
// (host_*.go); their logic lives here and reads a *Host.
package hostaudit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nixgate/nixgate/internal/lazyre"
	"github.com/nixgate/nixgate/internal/nixconf"
)

// Host is what the host checks read (check.Pass.Input).
type Host struct {
	// Root is the audited system ("" or "/" for this machine).
	Root nixconf.Root
	// Config is the configuration that governs builds: the daemon's when
	// a daemon runs, otherwise the configuration of the user running
	// nixgate (offline: what a daemon running as root would read).
	Config *nixconf.Config
	// ConfigOf says whose configuration Config is.
	ConfigOf string
	// Client is the invoking user's own view when it differs from Config
	// (a daemon runs), or nil.
	Client *nixconf.Config
	// Daemon is the running nix-daemon, or nil.
	Daemon *Daemon
	// Users maps a group name to its members, from the audited system's
	// /etc/group and /etc/passwd (primary groups).
	Groups map[string][]string
	// Env is the environment nixgate runs in (for CI detection); empty
	// for offline audits.
	Env map[string]string
	// Nix is the installed Nix.
	Nix NixVersion
	// Probe is the sandbox probe's result when --probe ran.
	Probe *ProbeResult
	// Shared says the policy declares this host shared by tenants
	// ([host] shared = true).
	Shared bool
}

// Daemon is a running nix-daemon.
type Daemon struct {
	PID  int               `json:"pid"`
	Exe  string            `json:"exe"`
	Args []string          `json:"args"`
	Env  map[string]string `json:"-"`
}

// NixVersion is the installed Nix implementation and version.
type NixVersion struct {
	// Implementation is "nix", "lix" or "" when unknown.
	Implementation string `json:"implementation"`
	Version        string `json:"version"`
	// Source says how the version was found.
	Source string `json:"source"`
	// Package is the distribution package ("nix-bin 2.8.0-1.1+b1"), when
	// Nix came from one: it may carry backported fixes.
	Package string `json:"package,omitempty"`
}

// Options say what to collect.
type Options struct {
	// Root is the audited system's root directory ("" for this machine).
	Root string
	// Env is the environment of the user running nixgate (live audits).
	Env map[string]string
	// NixVersion returns `nix --version` output (live audits); nil to skip.
	NixVersion func(ctx context.Context) (string, error)
	// ProcDir is /proc (tests may point elsewhere).
	ProcDir string
}

// Collect gathers a Host. It fails only when the root does not exist.
func Collect(ctx context.Context, o Options) (*Host, error) {
	root := nixconf.Root{Dir: o.Root}
	if !root.Live() {
		if fi, err := os.Stat(o.Root); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("root %s: not a directory", o.Root)
		}
	}
	h := &Host{Root: root, Groups: readGroups(root)}
	if root.Live() {
		h.Env = o.Env
		proc := o.ProcDir
		if proc == "" {
			proc = "/proc"
		}
		h.Daemon = findDaemon(proc)
		client := nixconf.Load(nixconf.Options{Root: root, Env: o.Env, Home: o.Env["HOME"]})
		if h.Daemon != nil {
			h.Config = nixconf.Load(nixconf.Options{Root: root, Env: h.Daemon.Env, Home: "/root",
				Args: h.Daemon.Args, ArgsOrigin: fmt.Sprintf("%s/%d/cmdline", proc, h.Daemon.PID)})
			h.ConfigOf = fmt.Sprintf("nix-daemon (pid %d)", h.Daemon.PID)
			h.Client = client
		} else {
			h.Config = client
			h.ConfigOf = "this user's nix (no nix-daemon running)"
		}
	} else {
		h.Config = nixconf.Load(nixconf.Options{Root: root, Env: map[string]string{}, Home: "/root"})
		h.ConfigOf = "a nix-daemon running as root on " + o.Root
	}
	h.Nix = detectVersion(ctx, h, o)
	return h, nil
}

// findDaemon looks for a process named nix-daemon that is not a per-client
// worker (the listening daemon has the lowest pid).
func findDaemon(proc string) *Daemon {
	ents, err := os.ReadDir(proc)
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(path.Join(proc, e.Name(), "comm"))
		if err == nil && strings.TrimSpace(string(comm)) == "nix-daemon" {
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		return nil
	}
	sort.Ints(pids)
	d := &Daemon{PID: pids[0], Env: map[string]string{}}
	dir := path.Join(proc, strconv.Itoa(d.PID))
	if b, err := os.ReadFile(path.Join(dir, "cmdline")); err == nil {
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) > 1 {
			d.Args = args[1:]
		}
	}
	if b, err := os.ReadFile(path.Join(dir, "environ")); err == nil {
		for _, kv := range strings.Split(string(b), "\x00") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				d.Env[k] = v
			}
		}
	}
	d.Exe, _ = os.Readlink(path.Join(dir, "exe"))
	return d
}

// readGroups reads group membership, including primary groups.
func readGroups(root nixconf.Root) map[string][]string {
	group, _ := root.ReadFile("/etc/group")
	passwd, _ := root.ReadFile("/etc/passwd")
	return parseGroups(group, passwd)
}

// parseGroups reads /etc/group and /etc/passwd: each group's members,
// those whose primary group it is included, sorted.
func parseGroups(group, passwd []byte) map[string][]string {
	groups := map[string][]string{}
	gidName := map[string]string{}
	{
		b := group
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Split(line, ":")
			if len(f) < 4 || strings.HasPrefix(line, "#") {
				continue
			}
			gidName[f[2]] = f[0]
			for _, m := range strings.Split(f[3], ",") {
				if m = strings.TrimSpace(m); m != "" {
					groups[f[0]] = append(groups[f[0]], m)
				}
			}
			if _, ok := groups[f[0]]; !ok {
				groups[f[0]] = nil
			}
		}
	}
	if b := passwd; len(b) > 0 {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Split(line, ":")
			if len(f) < 4 {
				continue
			}
			if g, ok := gidName[f[3]]; ok && !contains(groups[g], f[0]) {
				groups[g] = append(groups[g], f[0])
			}
		}
	}
	for g := range groups {
		sort.Strings(groups[g])
		groups[g] = slices.Compact(groups[g])
	}
	return groups
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

var (
	versionRE   = lazyre.New(`^nix \((Nix|Lix)[^)]*\) ([0-9][0-9A-Za-z.+~-]*)`)
	storeNameRE = lazyre.New(`/nix/store/[a-z0-9]{32}-(nix|lix)-([0-9][0-9A-Za-z.+~]*)`)
)

// ParseVersionOutput reads `nix --version` output.
func ParseVersionOutput(s string) (impl, version string, ok bool) {
	m := versionRE().FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return "", "", false
	}
	return strings.ToLower(m[1]), m[2], true
}

func detectVersion(ctx context.Context, h *Host, o Options) NixVersion {
	var v NixVersion
	if pkg, ver, ok := dpkgVersion(h.Root, "nix-bin"); ok {
		v = NixVersion{Implementation: "nix", Version: upstreamVersion(ver), Source: "dpkg status", Package: pkg + " " + ver}
	}
	if h.Daemon != nil {
		if m := storeNameRE().FindStringSubmatch(h.Daemon.Exe); m != nil {
			return NixVersion{Implementation: m[1], Version: m[2], Source: "nix-daemon executable " + h.Daemon.Exe, Package: v.Package}
		}
	}
	if h.Root.Live() {
		// The nix on PATH is what users run. Its version is known without
		// running it when it is a store path named nix-<version>, or a file
		// that the dpkg package just read installed.
		if p, err := exec.LookPath("nix"); err == nil {
			real, err := filepath.EvalSymlinks(p)
			if err != nil {
				real = p
			}
			if m := storeNameRE().FindStringSubmatch(real); m != nil {
				return NixVersion{Implementation: m[1], Version: m[2], Source: "nix on PATH: " + real, Package: v.Package}
			}
			if v.Version != "" && dpkgOwns(h.Root, "nix-bin", p, real) {
				v.Source = "dpkg status (nix-bin owns " + real + ")"
				return v
			}
		}
	}
	if h.Root.Live() && o.NixVersion != nil {
		if out, err := o.NixVersion(ctx); err == nil {
			if impl, ver, ok := ParseVersionOutput(out); ok {
				return NixVersion{Implementation: impl, Version: ver, Source: "nix --version", Package: v.Package}
			}
		}
	}
	if v.Version != "" {
		return v
	}
	for _, p := range []string{"/nix/var/nix/profiles/default/bin/nix", "/run/current-system/sw/bin/nix", "/nix/var/nix/profiles/system/sw/bin/nix"} {
		if target, err := resolveChain(h.Root, p); err == nil {
			if m := storeNameRE().FindStringSubmatch(target); m != nil {
				return NixVersion{Implementation: m[1], Version: m[2], Source: p + " -> " + target}
			}
		}
	}
	return NixVersion{Source: "not found"}
}

// resolveChain follows symlinks of p on the audited system and returns the
// last target seen (a store path, typically).
func resolveChain(root nixconf.Root, p string) (string, error) {
	cur := p
	for i := 0; i < 16; i++ {
		t, err := root.Readlink(cur)
		if err != nil {
			if i == 0 {
				// The link may be in a parent directory.
				h, rerr := root.Resolve(p)
				if rerr != nil {
					return "", rerr
				}
				if root.Live() {
					return h, nil
				}
				return strings.TrimPrefix(h, strings.TrimSuffix(root.Dir, "/")), nil
			}
			return cur, nil
		}
		if !path.IsAbs(t) {
			t = path.Join(path.Dir(cur), t)
		}
		cur = t
		if storeNameRE().MatchString(cur) {
			return cur, nil
		}
	}
	return cur, nil
}

// dpkgVersion finds an installed package in the dpkg status file.
func dpkgVersion(root nixconf.Root, name string) (pkg, version string, ok bool) {
	b, err := root.ReadFile("/var/lib/dpkg/status")
	if err != nil {
		return "", "", false
	}
	return parseDpkgStatus(b, name)
}

// parseDpkgStatus finds an installed package in a dpkg status file.
func parseDpkgStatus(b []byte, name string) (pkg, version string, ok bool) {
	for _, para := range bytes.Split(b, []byte("\n\n")) {
		var p, st, ver string
		sc := bufio.NewScanner(bytes.NewReader(para))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			k, v, found := strings.Cut(sc.Text(), ": ")
			if !found {
				continue
			}
			switch k {
			case "Package":
				p = v
			case "Status":
				st = v
			case "Version":
				ver = v
			}
		}
		if p == name && strings.HasSuffix(st, " installed") {
			return p, ver, true
		}
	}
	return "", "", false
}

// dpkgOwns reports whether package pkg installed one of the files.
func dpkgOwns(root nixconf.Root, pkg string, files ...string) bool {
	for _, arch := range []string{"", ":amd64", ":arm64", ":i386", ":armhf", ":riscv64"} {
		b, err := root.ReadFile("/var/lib/dpkg/info/" + pkg + arch + ".list")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			for _, f := range files {
				if l == f || "/usr"+l == f {
					return true
				}
			}
		}
	}
	return false
}

// upstreamVersion strips a Debian epoch and revision: 1:2.8.0-1.1+b1 -> 2.8.0.
func upstreamVersion(v string) string {
	if _, after, ok := strings.Cut(v, ":"); ok {
		v = after
	}
	if i := strings.LastIndexByte(v, '-'); i > 0 {
		v = v[:i]
	}
	return v
}
