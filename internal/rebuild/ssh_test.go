package rebuild

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sshd is an OpenSSH server on 127.0.0.1 with a temporary host key, which
// lets root in with a temporary client key; stopped at the end of the test.
type sshd struct {
	port       int
	clientKey  string
	knownHosts string
}

func startSSHD(t *testing.T) *sshd {
	t.Helper()
	bin := "/usr/sbin/sshd"
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing (apt-get install openssh-server; scripts/deps.sh does it)", bin)
	}
	if os.Getuid() != 0 {
		t.Fatal("the ssh-ng:// test logs in as root (the remote nix-daemon must trust the client)")
	}
	dir := t.TempDir()
	keygen := func(name string) string {
		p := filepath.Join(dir, name)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "nixgate-test", "-f", p).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
		return p
	}
	host, client := keygen("host"), keygen("client")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := filepath.Join(dir, "sshd_config")
	os.WriteFile(conf, []byte(fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s.pub
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile %s/sshd.pid
`, port, host, client, dir)), 0o600)
	// sshd's privilege separation directory.
	os.MkdirAll("/run/sshd", 0o755)
	cmd := exec.Command(bin, "-D", "-e", "-f", conf)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", log.String())
		}
	})
	pub, err := os.ReadFile(host + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(pub))
	known := filepath.Join(dir, "known_hosts")
	os.WriteFile(known, []byte(fmt.Sprintf("[127.0.0.1]:%d %s %s\n", port, f[0], f[1])), 0o600)
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatalf("sshd does not listen on %d: %v\n%s", port, err, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &sshd{port: port, clientKey: client, knownHosts: known}
}

// TestSSHNG builds on a chroot store and on an ssh-ng:// builder (the
// nix-daemon of this machine, through the sshd the test starts): a
// derivation the same everywhere is REPRODUCIBLE; one that records
// NIX_BUILD_CORES differs, because the cores variation reaches the remote
// daemon; the report says which variations a remote builder gets.
func TestSSHNG(t *testing.T) {
	needNix(t)
	s := startSSHD(t)
	t.Setenv("NIX_SSHOPTS", fmt.Sprintf("-p %d -i %s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o BatchMode=yes", s.port, s.clientKey, s.knownHosts))
	dir := casesDir(t)
	in := vary(t, dir, "remote.same", "remote.cores")
	nonce := fmt.Sprint(time.Now().UnixNano())
	in.Args, _ = ParseArgs(nil, []string{"nonce=" + nonce})
	tmp := tempDir(t)
	a, _ := ParseBuilder(filepath.Join(tmp, "a"))
	b, err := ParseBuilder("ssh-ng://root@127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(ctx(t), Options{Installables: []Installable{in}, Builders: []Builder{a, b}, TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	text := report(t, rep)
	defer func() {
		if t.Failed() {
			t.Logf("report:\n%s", text)
		}
	}()
	if rep.Builders[1].Error != "" {
		t.Fatalf("the ssh-ng builder failed: %s", rep.Builders[1].Error)
	}
	outs := outputsByName(rep)
	same, cores := outs["remote-same-"+nonce], outs["remote-cores-"+nonce]
	if !same.Reproducible || len(same.Hashes) != 2 {
		t.Errorf("remote-same: %+v, want reproducible on both", same)
	}
	if cores.Status != StatusDiffers || len(cores.Diffs) != 1 || cores.Diffs[0].Result == nil || cores.Diffs[0].Result.Changes[0].Summary.Kind != "build-cores" {
		t.Errorf("remote-cores: %+v, want a build-cores difference", cores)
	}
	applied := map[string]bool{}
	for _, v := range rep.Builders[1].Variations {
		applied[v.Name] = v.Applied
	}
	for name, want := range map[string]bool{VaryTime: true, VaryCores: true, VaryBuildDir: true, VaryKernel: true, VaryCPUs: false, VaryTimezone: false, VaryFileOrder: false} {
		if applied[name] != want {
			t.Errorf("remote variation %s applied = %v, want %v", name, applied[name], want)
		}
	}
	if !strings.Contains(text, "not varied file-order") || !strings.Contains(text, "remote nix-daemon's command line") {
		t.Errorf("the report does not say which variations the remote builder got")
	}
}
