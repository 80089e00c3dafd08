package hostaudit

import (
	"bufio"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProbeRecord is what the probe records inside the build, written to $out.
type ProbeRecord struct {
	SchemaVersion int    `json:"schemaVersion"`
	Nonce         string `json:"nonce"`
	PID           int    `json:"pid"`
	UID           int    `json:"uid"`
	Hostname      string `json:"hostname"`
	// NixVar is whether /nix/var/nix (the store database, the daemon
	// socket) is visible.
	NixVarReachable bool   `json:"nixVarReachable"`
	NixVarError     string `json:"nixVarError,omitempty"`
	// HostFile is the file nixgate created on the host for this probe.
	HostFileReachable bool   `json:"hostFileReachable"`
	HostFileNonce     bool   `json:"hostFileNonceMatched"`
	HostFileError     string `json:"hostFileError,omitempty"`
	// Loopback is nixgate's loopback listener on the host.
	LoopbackReachable bool   `json:"loopbackReachable"`
	LoopbackError     string `json:"loopbackError,omitempty"`
	// NoNewPrivs and Seccomp are the fields of /proc/self/status.
	NoNewPrivs string `json:"noNewPrivs"`
	Seccomp    string `json:"seccomp"`
	// SetuidSettable is whether chmod u+s succeeded on a file in $TMPDIR.
	SetuidSettable bool   `json:"setuidSettable"`
	SetuidError    string `json:"setuidError,omitempty"`
	// Store isolation (seed 004, "hide non-required paths in
	// /nix/store"): nixgate planted a store path holding the nonce, not in
	// the probe's closure. StoreProbed says the probe looked; StoreEntries
	// is how many entries it could list in /nix/store, PlantedListed
	// whether the planted path was among them, PlantedRead whether it
	// could read it (and PlantedNonce whether it held the nonce).
	StoreProbed   bool   `json:"storeProbed,omitempty"`
	StoreEntries  int    `json:"storeEntries"`
	StoreError    string `json:"storeError,omitempty"`
	PlantedListed bool   `json:"plantedListed"`
	PlantedRead   bool   `json:"plantedRead"`
	PlantedNonce  bool   `json:"plantedNonceMatched"`
	PlantedError  string `json:"plantedError,omitempty"`
}

// InsideArgs are the probe's arguments inside the build.
type InsideArgs struct {
	Nonce    string
	HostFile string
	Port     int
	// Planted is the store path nixgate added outside the probe's closure.
	Planted string
	Out     string
}

// RunInside runs the probe as a derivation's builder and writes the record
// to a.Out. It only ever connects to 127.0.0.1.
func RunInside(a InsideArgs) error {
	if a.Out == "" {
		return errors.New("probe: $out is not set (run only as a derivation builder)")
	}
	r := ProbeRecord{SchemaVersion: 1, Nonce: a.Nonce, PID: os.Getpid(), UID: os.Getuid()}
	r.Hostname, _ = os.Hostname()
	if _, err := os.Stat("/nix/var/nix"); err == nil {
		r.NixVarReachable = true
	} else {
		r.NixVarError = errString(err)
	}
	if b, err := os.ReadFile(a.HostFile); err == nil {
		r.HostFileReachable = true
		r.HostFileNonce = strings.TrimSpace(string(b)) == a.Nonce
	} else {
		r.HostFileError = errString(err)
	}
	if a.Port > 0 {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port)), 2*time.Second)
		if err == nil {
			r.LoopbackReachable = true
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			_, _ = io.WriteString(c, a.Nonce+"\n")
			c.Close()
		} else {
			r.LoopbackError = errString(err)
		}
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			switch k {
			case "NoNewPrivs":
				r.NoNewPrivs = strings.TrimSpace(v)
			case "Seccomp":
				r.Seccomp = strings.TrimSpace(v)
			}
		}
	}
	if a.Planted != "" {
		r.StoreProbed = true
		if ents, err := os.ReadDir(filepath.Dir(a.Planted)); err == nil {
			r.StoreEntries = len(ents)
			for _, e := range ents {
				if e.Name() == filepath.Base(a.Planted) {
					r.PlantedListed = true
				}
			}
		} else {
			r.StoreError = errString(err)
		}
		if b, err := os.ReadFile(a.Planted); err == nil {
			r.PlantedRead = true
			r.PlantedNonce = strings.TrimSpace(string(b)) == a.Nonce
		} else {
			r.PlantedError = errString(err)
		}
	}
	tmp := os.Getenv("TMPDIR")
	if tmp == "" {
		tmp = os.TempDir()
	}
	f := filepath.Join(tmp, "nixgate-setuid-"+a.Nonce)
	if err := os.WriteFile(f, nil, 0o755); err != nil {
		r.SetuidError = errString(err)
	} else {
		if err := os.Chmod(f, 0o755|os.ModeSetuid); err != nil {
			r.SetuidError = errString(err)
		} else if fi, err := os.Stat(f); err == nil && fi.Mode()&os.ModeSetuid != 0 {
			r.SetuidSettable = true
		} else {
			r.SetuidError = "chmod succeeded but the bit is not set"
		}
		os.Remove(f)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(a.Out, append(b, '\n'), 0o644)
}

func errString(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

// Verdicts.
const (
	Enforced = "enforced"
	Partial  = "partial"
	Absent   = "absent"
	// Failed means the probe build failed because of the sandbox itself
	// (it could not be set up).
	Failed = "failed"
)

// Store isolation verdicts.
const (
	StoreIsolated = "isolated"
	StoreExposed  = "exposed"
)

// ProbeResult is the probe's outcome as the parent sees it.
type ProbeResult struct {
	Store   string `json:"store"`
	Verdict string `json:"verdict"`
	// StoreIsolation is whether the build could see store paths outside
	// its closure: isolated, exposed, or "" when not probed.
	StoreIsolation string `json:"storeIsolation,omitempty"`
	// Planted is the store path planted outside the probe's closure.
	Planted string      `json:"planted,omitempty"`
	Record  ProbeRecord `json:"record"`
	// ListenerHit is whether nixgate's listener received the nonce.
	ListenerHit bool     `json:"listenerReceivedNonce"`
	HostPID     int      `json:"hostPid"`
	OutPath     string   `json:"outPath,omitempty"`
	Builder     string   `json:"builder,omitempty"`
	Evidence    []string `json:"evidence"`
	// Error is the build's error when Verdict is Failed.
	Error string `json:"error,omitempty"`
}

// Judge sets Verdict and Evidence from the record.
func (p *ProbeResult) Judge() {
	r := p.Record
	var ev []string
	say := func(ok bool, yes, no string) bool {
		if ok {
			ev = append(ev, "isolated: "+yes)
		} else {
			ev = append(ev, "NOT isolated: "+no)
		}
		return ok
	}
	pidNS := say(r.PID == 1, fmt.Sprintf("the builder is pid 1 (own pid namespace; nixgate is pid %d)", p.HostPID),
		fmt.Sprintf("the builder is pid %d in the host's pid namespace", r.PID))
	fs := say(!r.HostFileReachable && !r.NixVarReachable,
		fmt.Sprintf("the probe's host file and /nix/var/nix are not visible (%s; %s)", r.HostFileError, r.NixVarError),
		fmt.Sprintf("host filesystem visible (probe's host file: %v, /nix/var/nix: %v)", r.HostFileReachable, r.NixVarReachable))
	netIso := say(!r.LoopbackReachable && !p.ListenerHit,
		fmt.Sprintf("the host's loopback listener is unreachable (%s)", r.LoopbackError),
		"the build connected to nixgate's listener on the host's 127.0.0.1")
	ev = append(ev, fmt.Sprintf("hostname inside: %q", r.Hostname))
	setuidBlocked := !r.SetuidSettable
	if setuidBlocked {
		ev = append(ev, fmt.Sprintf("hardened: setuid bit cannot be set (%s)", r.SetuidError))
	} else {
		ev = append(ev, "NOT hardened: the build can create setuid files (filter-syscalls off?)")
	}
	ev = append(ev, fmt.Sprintf("NoNewPrivs: %s, Seccomp: %s (2 = filter)", r.NoNewPrivs, r.Seccomp))
	storeIso := true
	if r.StoreProbed {
		seen := r.PlantedListed || r.PlantedRead
		listed := fmt.Sprintf("%d entries listed", r.StoreEntries)
		if r.StoreError != "" {
			listed = "listing refused: " + r.StoreError
		}
		storeIso = say(!seen,
			fmt.Sprintf("store paths outside the build's closure are hidden (a path planted in the store is not listed and cannot be read: %s; %s)", r.PlantedError, listed),
			fmt.Sprintf("the build sees store paths outside its closure (a path planted in the store: listed %v, read %v; %s): one tenant's build can read another's outputs", r.PlantedListed, r.PlantedRead, listed))
		p.StoreIsolation = StoreIsolated
		if seen {
			p.StoreIsolation = StoreExposed
		}
	}
	p.Evidence = ev
	switch {
	case pidNS && fs && netIso && setuidBlocked && r.NoNewPrivs == "1" && storeIso:
		p.Verdict = Enforced
	case !pidNS && !fs && !netIso:
		p.Verdict = Absent
	default:
		p.Verdict = Partial
	}
}

// ProbeEnv is what RunProbe needs from the outside: how to add a file to
// a store, build an expression, and read a store path (internal/nixcli).
type ProbeEnv struct {
	Add   func(ctx context.Context, file string) (string, error)
	Build func(ctx context.Context, expr string) (outPath string, err error)
	Cat   func(ctx context.Context, path string) ([]byte, error)
	// Delete, when not nil, removes a store path nixgate added (the
	// planted one) after the probe.
	Delete func(ctx context.Context, path string) error
}

// ErrSandboxSetup wraps a build failure caused by the sandbox itself.
var ErrSandboxSetup = errors.New("the sandbox could not be set up")

// RunProbe builds the probe derivation with binary (a statically linked
// nixgate) as its builder and judges the result. It creates a host file
// and a loopback listener for the probe and removes both before
// returning.
func RunProbe(ctx context.Context, store, binary string, env ProbeEnv) (*ProbeResult, error) {
	if err := checkStatic(binary); err != nil {
		return nil, err
	}
	nonce := newNonce()
	dir, err := os.MkdirTemp("", "nixgate-probe-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// The build user must be able to read it when nothing isolates it.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	hostFile := filepath.Join(dir, "host-file")
	if err := os.WriteFile(hostFile, []byte(nonce+"\n"), 0o644); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("loopback listener: %w", err)
	}
	var mu sync.Mutex
	hit := false
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.TrimSpace(line) == nonce {
				mu.Lock()
				hit = true
				mu.Unlock()
			}
		}
	}()
	stop := sync.OnceFunc(func() { ln.Close(); <-done })
	defer stop()
	port := ln.Addr().(*net.TCPAddr).Port

	builder, err := env.Add(ctx, binary)
	if err != nil {
		return nil, fmt.Errorf("add the probe builder to the store: %w", err)
	}
	// A store path the probe does not depend on: the build is given its
	// name as a plain string (no string context), not as an input.
	plantFile := filepath.Join(dir, "nixgate-probe-planted-"+nonce[:8])
	if err := os.WriteFile(plantFile, []byte(nonce+"\n"), 0o644); err != nil {
		return nil, err
	}
	planted, err := env.Add(ctx, plantFile)
	if err != nil {
		return nil, fmt.Errorf("plant a store path: %w", err)
	}
	if env.Delete != nil {
		defer env.Delete(context.WithoutCancel(ctx), planted)
	}
	expr := ProbeExpr(builder, nonce, hostFile, port, planted)
	res := &ProbeResult{Store: store, HostPID: os.Getpid(), Builder: builder, Planted: planted}
	out, err := env.Build(ctx, expr)
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "sandbox") {
			res.Verdict, res.Error = Failed, err.Error()
			res.Evidence = []string{"the probe build failed while setting up the sandbox: " + firstLine(err.Error())}
			return res, nil
		}
		return nil, fmt.Errorf("probe build: %w", err)
	}
	res.OutPath = out
	b, err := env.Cat(ctx, out)
	if err != nil {
		return nil, fmt.Errorf("read the probe's output %s: %w", out, err)
	}
	if err := json.Unmarshal(b, &res.Record); err != nil {
		return nil, fmt.Errorf("probe output %s: %w", out, err)
	}
	if res.Record.Nonce != nonce {
		return nil, fmt.Errorf("probe output %s has nonce %q, want %q (a substituted or stale output)", out, res.Record.Nonce, nonce)
	}
	// Wait for the listener to record a connection that raced the build.
	stop()
	mu.Lock()
	res.ListenerHit = hit
	mu.Unlock()
	res.Judge()
	return res, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "error:"); i >= 0 {
		s = s[i:]
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// ProbeExpr is the probe derivation: never substituted, built locally,
// with a fresh nonce so that its output path is new every time. planted
// is a plain string, not a dependency: the build must not see it.
func ProbeExpr(builder, nonce, hostFile string, port int, planted string) string {
	q := func(s string) string { b, _ := json.Marshal(s); return strings.ReplaceAll(string(b), "${", `\${`) }
	return fmt.Sprintf(`derivation {
  name = "nixgate-sandbox-probe";
  system = builtins.currentSystem;
  builder = builtins.storePath %s;
  args = [ "probe-sandbox" "--nonce" %s "--host-file" %s "--port" %s "--planted" %s ];
  nonce = %s;
  allowSubstitutes = false;
  preferLocalBuild = true;
}`, q(builder), q(nonce), q(hostFile), q(strconv.Itoa(port)), q(planted), q(nonce))
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// checkStatic refuses a dynamically linked binary: inside the sandbox
// there is no dynamic loader.
func checkStatic(binary string) error {
	f, err := os.Open(binary)
	if err != nil {
		return fmt.Errorf("probe builder %s: %w", binary, err)
	}
	defer f.Close()
	if err := checkStaticELF(f); err != nil {
		return fmt.Errorf("probe builder %s: %w", binary, err)
	}
	return nil
}

// checkStaticELF refuses an ELF file with a program interpreter (a
// dynamically linked executable), and anything that is not ELF.
func checkStaticELF(r io.ReaderAt) error {
	f, err := elf.NewFile(r)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("dynamically linked: build nixgate with CGO_ENABLED=0")
		}
	}
	return nil
}
