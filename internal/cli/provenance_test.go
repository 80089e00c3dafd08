package cli

// End-to-end tests of build → sbom → attest → sign → verify with the real
// Nix, git, ssh-agent and cosign, running a statically linked nixgate as a
// subprocess with an explicit environment (the tests themselves run with
// CI=true, and the signing guard reads the environment it is given), and
// at a real pseudo-terminal for the ceremony's prompts.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nixgate/nixgate/internal/ceremony"
	"github.com/nixgate/nixgate/internal/envelope"
	"github.com/nixgate/nixgate/internal/signkey"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// nixgateBin builds nixgate statically once (the sandbox probe needs a
// static builder).
func nixgateBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nixgate-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "nixgate")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/nixgate")
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// world is a release pipeline in miniature: a git repository with
// closure.nix, its app built in a chroot store, a Nix signing key.
type world struct {
	t       *testing.T
	dir     string // the repository
	store   string
	app     string // app's output path
	home    string
	key     string // Nix secret key file (0600)
	pub     string // its public key file
	environ []string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	nixgateBin(t)
	root := t.TempDir()
	t.Cleanup(func() {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	w := &world{t: t, dir: filepath.Join(root, "repo"), store: filepath.Join(root, "store"), home: filepath.Join(root, "home")}
	os.MkdirAll(w.dir, 0o755)
	os.MkdirAll(w.home, 0o700)
	w.environ = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + w.home, "TMPDIR=" + os.TempDir(), "LANG=C",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=Release", "GIT_AUTHOR_EMAIL=release@example.org",
		"GIT_COMMITTER_NAME=Release", "GIT_COMMITTER_EMAIL=release@example.org",
		"GIT_AUTHOR_DATE=2026-11-01T12:00:00Z", "GIT_COMMITTER_DATE=2026-11-01T12:00:00Z",
	}
	nix, err := os.ReadFile("../sbom/testdata/closure.nix")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(w.dir, "closure.nix"), nix, 0o644)
	os.WriteFile(filepath.Join(w.dir, ".gitignore"), []byte("*.json\n*.nar\n*.tar.gz\n*.pem\n"), 0o644)
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-qm", "release"}} {
		w.exec("git", args...)
	}
	out := w.exec("nix-build", "--store", w.store, "--option", "sandbox", "true", "--option", "sandbox-paths", "/bin/busybox",
		"--option", "substituters", "", "--no-out-link", "closure.nix", "-A", "app")
	w.app = strings.TrimSpace(out)
	sec := w.exec("nix", "--extra-experimental-features", "nix-command", "key", "generate-secret", "--key-name", "release-1")
	w.key = filepath.Join(w.home, "release-1.sec")
	os.WriteFile(w.key, []byte(sec), 0o600)
	cmd := exec.Command("nix", "--extra-experimental-features", "nix-command", "key", "convert-secret-to-public")
	cmd.Stdin = strings.NewReader(sec)
	pub, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	w.pub = filepath.Join(w.home, "release-1.pub")
	os.WriteFile(w.pub, pub, 0o644)
	return w
}

func (w *world) exec(name string, args ...string) string {
	w.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = w.dir
	cmd.Env = w.environ
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		w.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// nixgate runs the static nixgate with env added to the world's
// environment and returns its output and exit code.
func (w *world) nixgate(env []string, args ...string) (stdout, stderr string, code int) {
	w.t.Helper()
	cmd := exec.Command(nixgateBin(w.t), args...)
	cmd.Dir = w.dir
	cmd.Env = append(append([]string{}, w.environ...), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func (w *world) must(env []string, args ...string) string {
	w.t.Helper()
	out, errOut, code := w.nixgate(env, args...)
	if code != 0 {
		w.t.Fatalf("nixgate %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (w *world) path(name string) string { return filepath.Join(w.dir, name) }

func (w *world) attest(extra ...string) string {
	w.t.Helper()
	args := append([]string{"attest", "--store", w.store, "--file", "closure.nix", "app", "--builder-id", "https://ci.example.org/nix",
		"--lock", mustAbs(w.t, "../../examples/anchor/flake.lock")}, extra...)
	return w.must(nil, args...)
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAttestDeterministicAndRefusesDirtyTree(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.attest()
	b := w.attest()
	if a != b {
		t.Error("two attests of the same build differ")
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(a), &st); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{w.app, `"gitCommit"`, `"flake.lock#nixpkgs"`, `"file": "closure.nix"`, `"nixVersion": "2.8`, `"startedOn"`, `"finishedOn"`} {
		if !strings.Contains(a, want) {
			t.Errorf("statement lacks %s:\n%s", want, a)
		}
	}
	// The rebuild report of nixgate rebuild rides along as a byproduct.
	rb := w.attest("--rebuild-report", mustAbs(t, "testdata/rebuild-report.json"))
	if !strings.Contains(rb, `"rebuild-report"`) || !strings.Contains(rb, `"verdict": "reproducible"`) {
		t.Errorf("no rebuild byproduct:\n%s", rb)
	}
	os.WriteFile(w.path("notes.txt"), []byte("wip"), 0o644)
	_, errOut, code := w.nixgate(nil, "attest", "--store", w.store, "--file", "closure.nix", "app")
	if code != 1 || !strings.Contains(errOut, "refusing to attest a build from a dirty tree") || !strings.Contains(errOut, "notes.txt: untracked") {
		t.Errorf("dirty tree: exit %d\n%s", code, errOut)
	}
	_, errOut, code = w.nixgate(nil, "attest", "--store", w.store, "--file", "closure.nix", "nosuchattr")
	if code != 1 {
		// still dirty: the refusal comes first
		t.Errorf("exit %d: %s", code, errOut)
	}
	os.Remove(w.path("notes.txt"))
	_, errOut, code = w.nixgate(nil, "attest", "--store", w.store, "--file", "closure.nix", "nosuchattr")
	if code != 2 {
		t.Errorf("unknown attribute: exit %d, want 2\n%s", code, errOut)
	}
}

func TestAttestProbe(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	st := w.attest("--probe")
	var doc struct {
		Predicate struct {
			BuildDefinition struct {
				InternalParameters struct {
					SandboxProbe struct {
						Verdict  string   `json:"verdict"`
						Evidence []string `json:"evidence"`
					} `json:"sandboxProbe"`
				} `json:"internalParameters"`
			} `json:"buildDefinition"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal([]byte(st), &doc); err != nil {
		t.Fatal(err)
	}
	p := doc.Predicate.BuildDefinition.InternalParameters.SandboxProbe
	// A chroot store with Nix's defaults builds in the sandbox.
	if p.Verdict != "enforced" || len(p.Evidence) == 0 {
		t.Errorf("probe verdict %q, evidence %q", p.Verdict, p.Evidence)
	}
}

func TestSbomDeterministic(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, format := range []string{"cyclonedx", "spdx"} {
		for _, bt := range []string{"", "--buildtime"} {
			args := []string{"sbom", "--store", w.store, "--format", format, w.app}
			if bt != "" {
				args = append(args, bt)
			}
			a, b := w.must(nil, args...), w.must(nil, args...)
			if a != b || !strings.Contains(a, w.app) {
				t.Errorf("%s %s: two runs differ or lack the root", format, bt)
			}
			// SOURCE_DATE_EPOCH wins over the commit time.
			c := w.must([]string{"SOURCE_DATE_EPOCH=0"}, args...)
			if !strings.Contains(c, "1970-01-01T00:00:00Z") || !strings.Contains(a, "2026-11-01T12:00:00Z") {
				t.Errorf("%s %s: timestamps", format, bt)
			}
		}
	}
	_, errOut, code := w.nixgate(nil, "sbom", "--store", w.store, "/nix/store/00000000000000000000000000000000-missing")
	if code != 2 || !strings.Contains(errOut, "not valid") {
		t.Errorf("a missing path: exit %d\n%s", code, errOut)
	}
}

// TestSignRefusals: CI markers (each one), a readable key, no terminal.
func TestSignRefusals(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	os.WriteFile(w.path("st.json"), []byte(w.attest()), 0o644)
	sign := []string{"sign", "--key", w.key, "--batch", "st.json", "-o", "env.json", "--log", filepath.Join(w.home, "ceremony.log")}
	vars := append(append([]string{}, ceremony.CIVariables...), "HYDRA_JOB", "BUILDBOT_WORKERNAME")
	for _, v := range vars {
		t.Run(v, func(t *testing.T) {
			_, errOut, code := w.nixgate([]string{v + "=true"}, sign...)
			if code != 2 || !strings.Contains(errOut, "the CI marker "+v+" is set: CI may build but must not sign") {
				t.Errorf("exit %d\n%s", code, errOut)
			}
		})
	}
	if _, err := os.Stat(w.path("env.json")); err == nil {
		t.Fatal("an envelope was written in CI")
	}
	os.Chmod(w.key, 0o644)
	_, errOut, code := w.nixgate(nil, sign...)
	if code != 2 || !strings.Contains(errOut, "group or others can read it") || !strings.Contains(errOut, "hint: chmod 600") {
		t.Errorf("world-readable key: exit %d\n%s", code, errOut)
	}
	os.Chmod(w.key, 0o600)
	_, errOut, code = w.nixgate(nil, "sign", "--key", w.key, "st.json", "-o", "env.json")
	if code != 2 || !strings.Contains(errOut, "stdin is not a terminal") {
		t.Errorf("no terminal, no --batch: exit %d\n%s", code, errOut)
	}
	// Outside CI, --batch signs, and the log has the line.
	w.must(nil, sign...)
	log, _ := os.ReadFile(filepath.Join(w.home, "ceremony.log"))
	if !strings.Contains(string(log), `"confirmed":false`) || !strings.Contains(string(log), `"keyNames":["release-1"]`) {
		t.Errorf("ceremony log:\n%s", log)
	}
	w.must(nil, "verify", "--store", w.store, w.app, "--provenance", "env.json", "--key", w.pub)
}

// pty opens a pseudo-terminal pair.
func pty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return master, slave
}

// atTerminal runs nixgate on a new pseudo-terminal (its controlling
// terminal, stdin, stdout and stderr) and answers each prompt it waits for
// (a substring of the screen) with a line.
func (w *world) atTerminal(answers [][2]string, args ...string) (screen string, code int) {
	w.t.Helper()
	master, slave := pty(w.t)
	defer master.Close()
	cmd := exec.Command(nixgateBin(w.t), args...)
	cmd.Dir = w.dir
	cmd.Env = w.environ
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	slave.Close()
	var mu sync.Mutex
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			mu.Lock()
			buf.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range answers {
		for {
			mu.Lock()
			seen := strings.Contains(buf.String(), a[0])
			mu.Unlock()
			if seen {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				w.t.Fatalf("no prompt %q on the terminal:\n%s", a[0], buf.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		io.WriteString(master, a[1]+"\n")
	}
	err := cmd.Wait()
	<-done
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatal(err)
	}
	return buf.String(), code
}

// TestCeremonyAtTerminal: the operator types the digest's first 8 hex
// digits (and an age key's passphrase) at a real terminal.
func TestCeremonyAtTerminal(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	st := w.attest()
	os.WriteFile(w.path("st.json"), []byte(st), 0o644)
	digest := sha256Hex([]byte(st))
	log := filepath.Join(w.home, "ceremony.log")

	screen, code := w.atTerminal([][2]string{{"Type the first 8 hex digits", "deadbeef"}}, "sign", "--key", w.key, "st.json", "-o", "env.json", "--log", log)
	if code != 2 || !strings.Contains(screen, "not the first 8 hex digits") || !strings.Contains(screen, "sha256:"+digest) {
		t.Errorf("wrong digits: exit %d\n%s", code, screen)
	}
	if _, err := os.Stat(w.path("env.json")); err == nil {
		t.Error("an envelope was written without confirmation")
	}
	screen, code = w.atTerminal([][2]string{{"Type the first 8 hex digits", digest[:8]}}, "sign", "--key", w.key, "st.json", "-o", "env.json", "--log", log)
	if code != 0 || !strings.Contains(screen, w.app) {
		t.Fatalf("right digits: exit %d\n%s", code, screen)
	}
	w.must(nil, "verify", "--store", w.store, w.app, "--provenance", "env.json", "--key", w.pub)

	// An age-encrypted key: the passphrase is asked on the terminal too;
	// its signature is added to the envelope (co-signing).
	sec, pub, _ := signkey.GenerateNix("release-2")
	var enc bytes.Buffer
	if err := signkey.EncryptAge(&enc, []byte(sec), []byte("s3cret passphrase")); err != nil {
		t.Fatal(err)
	}
	ageKey := filepath.Join(w.home, "release-2.age")
	os.WriteFile(ageKey, enc.Bytes(), 0o600)
	os.WriteFile(filepath.Join(w.home, "release-2.pub"), []byte(pub+"\n"), 0o644)
	screen, code = w.atTerminal([][2]string{{"Type the first 8 hex digits", digest[:8]}, {"passphrase for", "s3cret passphrase"}},
		"sign", "--key", ageKey, "env.json", "-o", "env.json", "--log", log)
	if code != 0 || strings.Contains(screen, "s3cret") {
		t.Fatalf("age key: exit %d (the passphrase must not echo)\n%s", code, screen)
	}
	w.must(nil, "verify", "--store", w.store, w.app, "--provenance", "env.json", "--key", w.pub, "--key", filepath.Join(w.home, "release-2.pub"), "--require", "2")
	// cosign verifies the signature of each backend's key (Nix, age).
	cosign := cosignBin(t)
	nar := w.exec("nix", "--extra-experimental-features", "nix-command", "store", "dump-path", "--store", w.store, w.app)
	os.WriteFile(w.path("app.nar"), []byte(nar), 0o644)
	for i, pubFile := range []string{w.pub, filepath.Join(w.home, "release-2.pub")} {
		data, _ := os.ReadFile(pubFile)
		keys, err := signkey.ParsePublicKeys(data)
		if err != nil {
			t.Fatal(err)
		}
		pem, _ := keys[0].PEM()
		name := fmt.Sprintf("key%d.pem", i)
		os.WriteFile(w.path(name), pem, 0o644)
		cosignVerify(t, w, cosign, name, "env.json", "app.nar", true)
	}
	b, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `"backends":["age"]`) || !strings.Contains(lines[1], `"confirmed":true`) || !strings.Contains(lines[1], digest) {
		t.Errorf("ceremony log:\n%s", b)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestAgentAndCosign signs with a key held by the real ssh-agent and
// verifies the envelope with nixgate and with cosign
// verify-blob-attestation, for a release file and for a store path (its
// NAR, dumped by Nix).
func TestAgentAndCosign(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	os.WriteFile(w.path("app-2.0.tar.gz"), []byte("release bytes"), 0o644)
	st := w.attest("--artifact", w.path("app-2.0.tar.gz"))
	os.WriteFile(w.path("st.json"), []byte(st), 0o644)

	sock := filepath.Join(w.home, "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { agent.Process.Kill(); agent.Wait() }()
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.environ = append(w.environ, "SSH_AUTH_SOCK="+sock)
	// One key of each type the agent can hold; all three sign.
	var keyArgs, pubs []string
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		key := filepath.Join(w.home, "id_"+typ)
		args := []string{"-q", "-t", typ, "-N", "", "-C", "token-" + typ, "-f", key}
		if typ == "rsa" {
			args = append(args, "-b", "2048")
		}
		w.exec("ssh-keygen", args...)
		w.exec("ssh-add", key)
		keyArgs = append(keyArgs, "--key", "ssh-agent:"+key+".pub")
		pubs = append(pubs, key+".pub")
	}
	w.must(nil, append([]string{"sign", "--batch", "st.json", "-o", "env.json", "--bundle", "bundle.json", "--log", filepath.Join(w.home, "log")}, keyArgs...)...)
	verify := []string{"verify", w.path("app-2.0.tar.gz"), "--provenance", "env.json", "--require", "3"}
	for _, p := range pubs {
		verify = append(verify, "--key", p)
	}
	w.must(nil, verify...)

	cosign := cosignBin(t)
	nar := w.exec("nix", "--extra-experimental-features", "nix-command", "store", "dump-path", "--store", w.store, w.app)
	os.WriteFile(w.path("app.nar"), []byte(nar), 0o644)
	for i, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		pem := w.must(nil, "sign", "public-key", "--key", "ssh-agent:"+pubs[i], "--form", "pem")
		os.WriteFile(w.path(typ+".pem"), []byte(pem), 0o644)
		// nixgate reads the PEM form too.
		w.must(nil, "verify", w.path("app-2.0.tar.gz"), "--provenance", "env.json", "--key", w.path(typ+".pem"))
		for _, blob := range []string{"app-2.0.tar.gz", "app.nar"} {
			cosignVerify(t, w, cosign, typ+".pem", "env.json", blob, true)
		}
	}
	// The Sigstore bundle (one signature: the first key's) verifies with
	// cosign's new bundle format, offline: an empty trusted root, no log.
	os.WriteFile(w.path("trusted_root.json"), []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644)
	cosignBundle := func(pem, blob string) bool {
		cmd := exec.Command(cosign, "verify-blob-attestation", "--new-bundle-format", "--bundle", "bundle.json", "--key", pem,
			"--trusted-root", "trusted_root.json", "--type", "slsaprovenance1", "--insecure-ignore-tlog", blob)
		cmd.Dir, cmd.Env = w.dir, w.environ
		out, err := cmd.CombinedOutput()
		t.Logf("cosign --bundle --key %s %s: %v\n%s", pem, blob, err, out)
		return err == nil && strings.Contains(string(out), "Verified OK")
	}
	if !cosignBundle("ed25519.pem", "app-2.0.tar.gz") || !cosignBundle("ed25519.pem", "app.nar") {
		t.Error("cosign does not verify the Sigstore bundle")
	}
	if cosignBundle("ecdsa.pem", "app-2.0.tar.gz") {
		t.Error("cosign verified the bundle with a key whose signature it does not hold")
	}
	// cosign refuses a tampered artifact, as nixgate does.
	os.WriteFile(w.path("app-2.0.tar.gz"), []byte("other bytes"), 0o644)
	cosignVerify(t, w, cosign, "ed25519.pem", "env.json", "app-2.0.tar.gz", false)
	if cosignBundle("ed25519.pem", "app-2.0.tar.gz") {
		t.Error("cosign verified the bundle for a tampered artifact")
	}
	out, _, code := w.nixgate(nil, "verify", w.path("app-2.0.tar.gz"), "--provenance", "env.json", "--key", pubs[0])
	if code != 1 || !strings.Contains(out, "provenance-subject") {
		t.Errorf("nixgate verify of a tampered artifact: exit %d\n%s", code, out)
	}
}

// cosignVerify runs cosign verify-blob-attestation and checks its verdict.
func cosignVerify(t *testing.T, w *world, cosign, pem, env, blob string, ok bool) {
	t.Helper()
	cmd := exec.Command(cosign, "verify-blob-attestation", "--key", pem, "--signature", env,
		"--type", "slsaprovenance1", "--insecure-ignore-tlog", blob)
	cmd.Dir, cmd.Env = w.dir, w.environ
	out, err := cmd.CombinedOutput()
	if got := err == nil && strings.Contains(string(out), "Verified OK"); got != ok {
		t.Errorf("cosign verify-blob-attestation --key %s %s: verified %v, want %v (%v)\n%s", pem, blob, got, ok, err, out)
	}
}

// cosignBin finds cosign, which scripts/deps.sh installs with a pinned go
// install (v2.4.3).
func cosignBin(t *testing.T) string {
	if p, err := exec.LookPath("cosign"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "cosign")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("cosign is not installed (scripts/deps.sh installs github.com/sigstore/cosign/v2/cmd/cosign@v2.4.3)")
	return ""
}

// TestVerifyExitCodes: 0 clean, 1 a failed check, 2 bad input.
func TestVerifyExitCodes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	os.WriteFile(w.path("st.json"), []byte(w.attest()), 0o644)
	w.must(nil, "sign", "--key", w.key, "--batch", "st.json", "-o", "env.json", "--log", filepath.Join(w.home, "log"))
	out := w.must(nil, "verify", "--store", w.store, w.app, "--provenance", "env.json", "--key", w.pub, "--format", "json",
		"--lock", mustAbs(t, "../../examples/anchor/flake.lock"), "--commit", "HEAD")
	var rep struct {
		SchemaVersion int `json:"schemaVersion"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.SchemaVersion == 0 {
		t.Errorf("json report: %v\n%s", err, out)
	}
	// The wrong commit fails the gate.
	out, _, code := w.nixgate(nil, "verify", "--store", w.store, w.app, "--provenance", "env.json", "--key", w.pub, "--commit", strings.Repeat("0", 40))
	if code != 1 || !strings.Contains(out, "provenance-commit") {
		t.Errorf("wrong commit: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"verify", w.app, "--key", w.pub},
		{"verify", w.app, "--provenance", "env.json"},
		{"verify", w.app, "--provenance", "missing.json", "--key", w.pub},
		{"verify", w.app, "--provenance", "env.json", "--key", w.pub, "--require", "2"},
		{"verify", w.app, "--provenance", "env.json", "--key", w.pub, "--commit", "no-such-rev"},
		{"verify", w.app, "--provenance", "st.json", "--key", w.pub},
	} {
		if _, errOut, code := w.nixgate(nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, errOut)
		}
	}
	// An envelope that verifies but signs something else: exit 1.
	env, _ := os.ReadFile(w.path("env.json"))
	e, err := envelope.Parse(env)
	if err != nil {
		t.Fatal(err)
	}
	e.PayloadType = "application/json"
	b, _ := envelope.Marshal(e)
	os.WriteFile(w.path("bad.json"), b, 0o644)
	out, _, code = w.nixgate(nil, "verify", "--store", w.store, w.app, "--provenance", "bad.json", "--key", w.pub)
	if code != 1 || !strings.Contains(out, "provenance-payload-type") || !strings.Contains(out, "does not verify") {
		t.Errorf("changed payload type: exit %d\n%s", code, out)
	}
}

func TestReadPublicKeysInline(t *testing.T) {
	const nixPub = "release-1:r6T8/9f72gQ79ILoJ/2LIfGaKjpb3WxKuF2cwvx1DCQ=" // base64 with '/'
	keys, err := readPublicKeys([]string{nixPub})
	if err != nil || len(keys) != 1 || keys[0].Name != "release-1" {
		t.Fatalf("inline Nix key: %v %v", keys, err)
	}
	if _, err := readPublicKeys([]string{"missing.pub"}); err == nil || exitCode(err) != ExitUsage {
		t.Errorf("missing file: %v", err)
	}
}

func TestTargetParsing(t *testing.T) {
	for in, want := range map[string]string{
		"/nix/store/hvfaqxjnf8n67lnqydmsvihkzypc7xnk-app-2.0":         "/nix/store/hvfaqxjnf8n67lnqydmsvihkzypc7xnk-app-2.0",
		"/nix/store/hvfaqxjnf8n67lnqydmsvihkzypc7xnk-app-2.0/bin/app": "/nix/store/hvfaqxjnf8n67lnqydmsvihkzypc7xnk-app-2.0",
		"/nix/store/short-app": "",
		".#app":                "",
		"/tmp/x":               "",
	} {
		if got := storePathOf(in); got != want {
			t.Errorf("storePathOf(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		".": ".", "": ".", "./sub": "./sub", "/abs/flake": "/abs/flake",
		"path:/abs/flake": "/abs/flake", "git+file:///abs/flake?ref=main": "/abs/flake",
		"github:NixOS/nixpkgs": "", "git+https://example.org/x": "",
	} {
		if got := localFlakeDir(in); got != want {
			t.Errorf("localFlakeDir(%q) = %q, want %q", in, got, want)
		}
	}
}
